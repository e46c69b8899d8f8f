// The trace view: the packet's path drawn as a graph (branches labelled with their probability),
// a step-through (previous / next / play) that moves a packet along the hops, the hop list with each
// decision's explanation, drops in red with reason and fix, the assumptions, export and share.
// Used by the trace page and by the read-only shared page /t/<slug>.
import { makeCy, kindStyle } from "./cystyle.js";
import { el, clear, verdictBadge, reasonText, download, copyText, notice } from "./ui.js";
import { PathOnMap, namespacesOf } from "./pathonmap.js";
import { gatewayHopRef, httpSummary, routeDecision } from "./gatewaytrace.js";

const MAX_PATHS_DRAWN = 200;
// People who ask their system for less motion get the packet placed, not flown.
const MOVE_MS = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : 450;
const DROP_ACTIONS = /drop|deny|denied|reject|nxdomain|no-match|fail/i;
// A rule id cited in parentheses — "(A13)", "(A12 / A20)", "(D9, impl)" — as tracer/engine/rules.py reads it.
const RULE_GROUP = /\(([^()]*)\)/g;
const RULE_ID = /(?<![\w.:-])([A-K][1-9]\d?)(?![\w.:-])/g;

/** `text` with every cited rule id linked to its explanation, /docs/semantics/#<id> (docs/semantics.md). */
export function withRuleLinks(value) {
  const text = String(value);
  const out = [];
  let last = 0;
  for (const group of text.matchAll(RULE_GROUP)) {
    for (const m of group[1].matchAll(RULE_ID)) {
      const at = group.index + 1 + m.index;
      out.push(text.slice(last, at),
        el("a", { class: "rule-link", href: `/docs/semantics/#${m[1].toLowerCase()}`, title: `rule ${m[1]}, docs/semantics.md` }, m[1]));
      last = at + m[1].length;
    }
  }
  out.push(text.slice(last));
  return out;
}

/** A path's hops, with the source prepended when the engine's first hop is not the source itself. */
function pathHops(path) {
  const hops = (path.hops || []).slice();
  const source = path.source || "";
  const [srcKind, ...rest] = source.split(":");
  const srcId = rest.join(":");
  if (source && !(hops.length && (hops[0].id === srcId || hops[0].id === source))) {
    hops.unshift({ kind: srcKind || "source", id: srcId || source, action: "send", detail: `The packet leaves ${source}.`, synthetic: true });
  }
  return hops;
}

/** Index (in pathHops) of the hop where a dropped path ends. */
export function dropIndex(path, hops) {
  if (path.verdict !== "dropped") return -1;
  for (let i = hops.length - 1; i >= 0; i--) if (DROP_ACTIONS.test(hops[i].action || "")) return i;
  return hops.length - 1;
}

const pct = (p) => `${Math.round(p * 1000) / 10}%`;

// A hop's typed reference (the engine's {kind, namespace, name}) → the panel ref of its object, or null.
const PANEL_OF_REF = { pod: "pod", service: "svc", node: "node", ingress: "ingress", "network-policy": "netpol", gateway: "gateway",
  persistentvolumeclaim: "pvc", persistentvolume: "pv" };
export function hopRef(hop) {
  const r = hop.ref;
  // a volume hop stands on its pod (name "POD/VOLUME"): its panel is the pod's
  if (r && r.kind === "volume" && r.name) return `pod:${r.namespace}/${r.name.split("/")[0]}`;
  if (!r || !PANEL_OF_REF[r.kind] || !r.name) return gatewayHopRef(r);
  return `${PANEL_OF_REF[r.kind]}:${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
}

/**
 * Merge paths into a tree: hops with the same prefix share one node, so where kube-proxy (or DNS, or an
 * ingress rule) picks one of several endpoints the drawing forks, and each fork edge carries the share of
 * connections that take it.
 */
export function buildPathGraph(result, box = { width: 830, height: 500 }) {
  const paths = (result.paths || []).slice(0, MAX_PATHS_DRAWN);
  const nodes = new Map(); // prefix key → node
  const edges = new Map();
  const pathNodeIds = [];
  const spacingY = 70;
  const spacingX = 150;
  paths.forEach((path, pi) => {
    const hops = pathHops(path);
    const drop = dropIndex(path, hops);
    const ids = [];
    let prefix = "";
    hops.forEach((hop, hi) => {
      prefix += `\u0000${hop.kind}|${hop.id}|${hop.action}`;
      let node = nodes.get(prefix);
      if (!node) {
        const s = kindStyle(hop.kind);
        node = {
          id: `h${nodes.size}`,
          kind: hop.kind,
          label: `${s.glyph} ${hop.kind}\n${shorten(String(hop.id ?? "").replace(/^[a-z-]+:/, "")).replace(/\//g, "/ ")}`,
          depth: hi,
          paths: [],
          prob: 0,
          drop: false,
          delivered: false,
        };
        nodes.set(prefix, node);
      }
      node.paths.push(pi);
      node.prob += Number(path.probability || 0);
      if (hi === drop) node.drop = true;
      if (path.verdict === "delivered" && hi === hops.length - 1) node.delivered = true;
      ids.push(node.id);
    });
    pathNodeIds.push(ids);
  });
  const byId = new Map([...nodes.values()].map((n) => [n.id, n]));
  pathNodeIds.forEach((ids) => {
    for (let i = 1; i < ids.length; i++) {
      const key = `${ids[i - 1]}>${ids[i]}`;
      if (!edges.has(key)) {
        const parent = byId.get(ids[i - 1]);
        const child = byId.get(ids[i]);
        const fork = child.paths.length < parent.paths.length;
        edges.set(key, { id: `e${edges.size}`, source: ids[i - 1], target: ids[i], label: fork ? pct(child.prob) : "", drop: child.drop });
      }
    }
  });
  const n = paths.length;
  const elements = [];
  // Long paths wrap into rows (like lines of text): the number of rows is the one that lets the whole
  // story be drawn largest in the map's box.
  const depth = Math.max(0, ...[...nodes.values()].map((x) => x.depth)) + 1;
  const rowHeight = Math.max(1, Math.min(n, 12)) * spacingY + 90;
  let perRow = depth;
  let best = 0;
  for (let rows = 1; rows <= Math.min(4, depth); rows++) {
    const cols = Math.ceil(depth / rows);
    const zoom = Math.min(box.width / (cols * spacingX + 120), box.height / (rows * rowHeight));
    if (zoom > best * 1.05) {
      best = zoom;
      perRow = cols;
    }
  }
  for (const node of nodes.values()) {
    const ys = node.paths.map((pi) => (pi - (n - 1) / 2) * spacingY);
    const row = Math.floor(node.depth / perRow);
    const y = ys.reduce((a, b) => a + b, 0) / ys.length + row * rowHeight;
    let label = node.label;
    if (node.drop) label = `✖ ${label}`;
    if (node.delivered) label = `✔ ${label}`;
    elements.push({
      group: "nodes",
      data: { id: node.id, kind: node.kind, label },
      position: { x: (node.depth % perRow) * spacingX, y },
      classes: [node.drop ? "drop" : "", node.delivered ? "delivered" : ""].join(" ").trim(),
    });
  }
  for (const e of edges.values()) {
    elements.push({ group: "edges", data: { id: e.id, source: e.source, target: e.target, label: e.label }, classes: e.drop ? "drop" : "" });
  }
  return { elements, pathNodeIds, truncated: (result.paths || []).length > n };
}

function shorten(id) {
  const s = String(id ?? "");
  return s.length > 42 ? `${s.slice(0, 40)}…` : s;
}

/**
 * Render a trace into `root`.
 * opts: {result, request, title, trace (API object or null), shared (bool), onRerun (fn|null), shareLink (fn|null)}
 */
export function renderTrace(root, opts) {
  const { result } = opts;
  clear(root);
  const paths = result.paths || [];
  const graph = buildPathGraph(result, { width: Math.max(400, root.clientWidth * 0.6), height: Math.max(300, window.innerHeight * 0.56) });
  let pathIndex = Math.max(0, paths.findIndex((p) => p.verdict === "dropped"));
  if (result.verdict !== "partial" && result.verdict !== "dropped") pathIndex = 0;
  let step = 0;
  let timer = null;
  let follow = true;

  // ---- header: verdict, request, reason
  const req = opts.request || {};
  const reason = result.reason;
  const [meaning, fix] = reasonText(reason);
  // The engine's own explanation of the drop (which policy, which field to change), shown in full.
  const dropped = paths.find((p) => p.verdict === "dropped");
  const dropHops = dropped ? pathHops(dropped) : [];
  // A verified fix (the engine re-traced the flow with it applied): its summary, the YAML to kubectl apply and
  // what else it changes; without one, the drop hop's own words.
  const proven = dropped && dropped.fix && dropped.fix.yaml ? dropped.fix : null;
  const engineFix = proven ? proven.summary : dropped ? (dropHops[dropIndex(dropped, dropHops)] || {}).detail || "" : "";
  const opens = proven ? (proven.opens || []) : [];
  const opensText = proven ? `Verified by re-tracing with the fix applied. It also changes ${proven.opens_count ?? opens.length} other `
    + `source → destination verdict${(proven.opens_count ?? opens.length) === 1 ? "" : "s"}${proven.opens_bounded ? " (sampled)" : ""}`
    + (opens.length ? ": " + opens.map((o) => `${o.source} → ${o.destination} ${o.protocol || ""} ${o.port ?? ""} ${o.before} → ${o.after}`).join("; ") : ".") : "";
  const header = el("section", { class: "trace-summary", "aria-label": "Trace summary" },
    el("h2", {}, verdictBadge(result.verdict), " ",
      el("span", { class: "trace-flow" }, `${req.from || req.source || "?"} → ${req.to || req.destination || "?"}`,
        req.port ? `:${req.port}` : "", req.protocol && req.protocol !== "TCP" ? `/${req.protocol}` : "")),
    reason ? el("p", { class: "reason" }, el("strong", {}, "✖ ", reason, ": "), meaning, " ", el("span", { class: "fix" }, "Fix: ", fix)) : null,
    engineFix ? el("div", { class: "engine-fix" }, el("p", { id: "engine-fix-text" }, engineFix),
      proven ? el("p", {}, "Apply with ", el("code", { id: "engine-fix-command" }, proven.command || "kubectl apply -f -"),
        " and this YAML on standard input:") : null,
      proven ? el("pre", { id: "engine-fix-yaml", tabindex: "0", "aria-label": "Fix YAML",
        style: "overflow-x: auto; margin: .3rem 0; padding: .3rem; background: #fff" }, proven.yaml) : null,
      proven ? el("p", { id: "engine-fix-opens" }, opensText) : null,
      el("button", { type: "button", id: "copy-fix", onclick: async (e) => {
        const ok = await copyText(proven ? proven.yaml : engineFix);
        e.target.textContent = ok ? "✔ Copied" : "Select and copy the text above";
      } }, "Copy the fix")) : null,
    opts.context || null,
  );

  // ---- toolbar
  const prevBtn = el("button", { type: "button", id: "step-prev", "aria-label": "Prev: previous hop", title: "Previous hop (←)" }, "◀ Prev");
  const playBtn = el("button", { type: "button", id: "step-play", "aria-label": "Play", title: "Play / pause (space)" }, "► Play");
  const nextBtn = el("button", { type: "button", id: "step-next", "aria-label": "Next hop", title: "Next hop (→)" }, "Next ▶");
  const stepLabel = el("span", { id: "step-label", class: "step-label", "aria-live": "polite" });
  const fitBtn = el("button", { type: "button", id: "fit-path", title: "Show the whole path" }, "Fit");
  const jsonBtn = el("button", { type: "button", id: "export-json" }, "↓ JSON");
  const pngBtn = el("button", { type: "button", id: "export-png" }, "↓ PNG");
  // Sharing is a decision: no link exists until Share is pressed; a shared trace shows a badge, its link
  // and a Revoke button (opts.sharing: {shared, url, by, at, canEdit, share(), revoke()}).
  const sharing = opts.sharing || null;
  const shareField = el("input", { type: "text", id: "share-url", readonly: true, class: "share-url", "aria-label": "Share link", hidden: true });
  const shareBtn = sharing && sharing.canEdit ? el("button", { type: "button", id: "share", class: "primary" }, "↗ Share") : null;
  const revokeBtn = sharing && sharing.canEdit ? el("button", { type: "button", id: "revoke", hidden: true }, "✖ Revoke link") : null;
  const sharedBadge = sharing ? el("span", { id: "shared-badge", class: "shared-badge", hidden: true, role: "status" }) : null;
  function showSharing() {
    if (!sharing) return;
    sharedBadge.hidden = !sharing.shared;
    sharedBadge.textContent = sharing.shared ? `🔗 Shared${sharing.by ? ` by ${sharing.by}` : ""}${sharing.at ? ` on ${sharing.at.slice(0, 10)}` : ""}: anyone with the link can read this trace` : "";
    shareField.hidden = !sharing.shared;
    shareField.value = sharing.shared ? sharing.url || "" : "";
    if (shareBtn) shareBtn.textContent = sharing.shared ? "↻ New link" : "↗ Share";
    if (revokeBtn) revokeBtn.hidden = !sharing.shared;
  }
  const rerunBtn = opts.onRerun ? el("button", { type: "button", id: "rerun" }, "↻ Re-run on latest snapshot") : null;
  const toolbar = el("div", { class: "toolbar", role: "toolbar", "aria-label": "Step through the path" },
    prevBtn, playBtn, nextBtn, fitBtn, stepLabel, el("span", { class: "spacer" }), jsonBtn, pngBtn, shareBtn, revokeBtn, rerunBtn,
    sharedBadge, shareField);

  // ---- path picker: paths that read the same (verdict, source, endpoint, reason) form one row with their
  // total share and count; choosing the row shows its first path.
  const pathList = el("div", { class: "path-list", role: "radiogroup", "aria-label": "Paths" });
  const groups = [];
  const byKey = new Map();
  paths.slice(0, MAX_PATHS_DRAWN).forEach((p, i) => {
    const key = [p.verdict, p.source, p.endpoint, p.endpoint_port, p.reason].join("|");
    let g = byKey.get(key);
    if (!g) {
      g = { first: i, members: [], share: 0 };
      byKey.set(key, g);
      groups.push(g);
    }
    g.members.push(i);
    g.share += Number(p.probability || 0);
  });
  const groupOf = new Map();
  groups.forEach((g, gi) => {
    g.members.forEach((i) => groupOf.set(i, gi));
    const p = paths[g.first];
    const id = `path-${gi}`;
    const input = el("input", { type: "radio", name: "path", id, value: g.first, checked: g.members.includes(pathIndex) });
    input.addEventListener("change", () => selectPath(g.first));
    pathList.append(el("label", { for: id, class: `path-choice path-${p.verdict}` }, input,
      verdictBadge(p.verdict), ` ${pct(g.share)} `,
      g.members.length > 1 ? el("span", { class: "path-count", title: "identical paths (e.g. through different nodes or rules) grouped" }, `(${g.members.length} paths) `) : null,
      el("span", { class: "muted" }, p.source ? `${p.source} → ` : ""),
      p.endpoint ? `${p.endpoint}${p.endpoint_port ? `:${p.endpoint_port}` : ""}` : p.reason || ""));
  });
  if (graph.truncated) pathList.append(el("p", { class: "muted" }, `Showing the first ${MAX_PATHS_DRAWN} of ${paths.length} paths.`));

  const mapBox = el("div", { class: "trace-map", id: "trace-map", role: "img", "aria-label": "The packet's path, hop by hop" });
  // On the owner's trace page the path can also be shown on the cluster's topology map.
  const clusterBox = el("div", { class: "trace-map", id: "trace-cluster-map", role: "img", hidden: true,
    "aria-label": "The packet's path on the cluster's topology map" });
  let onMap = null;
  const viewPath = el("input", { type: "radio", name: "trace-view", id: "view-path", value: "path", checked: true });
  const viewCluster = el("input", { type: "radio", name: "trace-view", id: "view-cluster", value: "cluster" });
  const viewToggle = opts.topology ? el("div", { class: "view-toggle", role: "radiogroup", "aria-label": "Map" },
    el("label", { for: "view-path" }, viewPath, " Path"), el("label", { for: "view-cluster" }, viewCluster, " On the cluster map"),
    el("span", { id: "cluster-map-status", class: "muted" })) : null;
  const hopList = el("ol", { class: "hop-list", id: "hop-list", "aria-label": "Hops" });
  const assumptions = el("section", { class: "assumptions", "aria-label": "Assumptions" },
    el("h3", {}, "Assumptions"),
    (result.assumptions || []).length ? el("ul", {}, (result.assumptions || []).map((a) => el("li", {}, withRuleLinks(a)))) : el("p", { class: "muted" }, "None."));

  root.append(header, toolbar,
    el("div", { class: "trace-body" },
      el("div", { class: "trace-left" }, viewToggle, mapBox, clusterBox, el("h3", {}, "Paths"), pathList),
      el("div", { class: "trace-right" }, el("h3", {}, "Hops"), hopList, assumptions)));

  const cy = makeCy(mapBox, graph.elements, { autoungrabify: true });
  cy.add({ group: "nodes", data: { id: "packet" }, classes: "packet", position: { x: 0, y: 0 } });
  cy.fit(cy.elements().not(".packet"), 30);
  if (cy.zoom() > 1.1) { // a short path: readable size, centred, not blown up
    cy.zoom(1.1);
    cy.center(cy.elements().not(".packet"));
  }
  root._cy = cy;

  function currentHops() {
    return paths.length ? pathHops(paths[pathIndex]) : [];
  }

  function renderHops() {
    clear(hopList);
    const p = paths[pathIndex];
    if (!p) return;
    const hops = currentHops();
    const drop = dropIndex(p, hops);
    const http = httpSummary(p); // a path through a Gateway or Ingress: what the client gets
    const oldHttp = root.querySelector("#http-summary");
    if (oldHttp) oldHttp.replaceWith(http || el("span", { id: "http-summary", hidden: true }));
    else if (http) (hopList.previousElementSibling || hopList).before(http);
    hops.forEach((hop, i) => {
      const s = kindStyle(hop.kind);
      const isDrop = i === drop;
      const li = el("li", { class: `hop${isDrop ? " hop-drop" : ""}`, tabindex: "0", dataset: { step: i } },
        el("div", { class: "hop-head" },
          el("span", { class: "hop-kind", style: `border-color:${s.color}` }, `${s.glyph} ${hop.kind}`),
          " ", el("code", {}, hop.id), " ", el("span", { class: "hop-action" }, isDrop ? `✖ ${hop.action}` : hop.action),
          opts.openObject && hopRef(hop) ? el("button", { type: "button", class: "small hop-details", "aria-label": `Details of ${hop.id}`,
            onclick: (e) => { e.stopPropagation(); opts.openObject(hopRef(hop)); } }, "details") : null),
        (hop.kind === "route" && routeDecision(hop, withRuleLinks)) || (hop.detail ? el("p", { class: "hop-detail" }, withRuleLinks(hop.detail)) : null),
        isDrop ? el("p", { class: "hop-fix" }, el("strong", {}, `✖ Dropped: ${p.reason || "dropped"}. `),
          reasonText(p.reason)[0], " ", el("strong", {}, "Fix: "), reasonText(p.reason)[1]) : null,
        i === hops.length - 1 && p.verdict === "delivered"
          ? el("p", { class: "hop-ok" }, `✔ Delivered to ${p.endpoint || hop.id}${p.endpoint_port ? ` on port ${p.endpoint_port}` : ""}.`) : null);
      li.addEventListener("click", () => goTo(i));
      li.addEventListener("keydown", (e) => {
        if (e.key === "Enter") goTo(i);
      });
      hopList.append(li);
    });
  }

  function highlightPath() {
    cy.elements().removeClass("on-path faded current");
    const ids = graph.pathNodeIds[pathIndex] || [];
    const onPath = cy.collection();
    ids.forEach((id, i) => {
      onPath.merge(cy.getElementById(id));
      if (i) onPath.merge(cy.getElementById(ids[i - 1]).edgesTo(cy.getElementById(id)));
    });
    onPath.addClass("on-path");
    cy.elements().not(onPath).not(".packet").addClass("faded");
  }

  function placePacket(animate) {
    const ids = graph.pathNodeIds[pathIndex] || [];
    const node = cy.getElementById(ids[step]);
    cy.nodes(".current").removeClass("current");
    if (!node.length) return;
    node.addClass("current");
    const packet = cy.getElementById("packet");
    packet.stop(true);
    if (animate) {
      packet.animate({ position: { ...node.position() } }, { duration: MOVE_MS, easing: "ease-in-out-sine" });
      // Long paths are drawn small when fitted: the camera follows the packet at a readable zoom.
      if (follow && cy.zoom() < 0.65) {
        cy.stop(true);
        cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 0.9) }, { duration: MOVE_MS, queue: false });
      }
    } else packet.position({ ...node.position() });
    if (onMap && !clusterBox.hidden) onMap.place(step, animate);
    const hops = currentHops();
    const hop = hops[step];
    stepLabel.textContent = hop ? `Hop ${step + 1} of ${hops.length}: ${hop.kind} ${hop.id}` : "";
    [...hopList.children].forEach((li, i) => {
      li.classList.toggle("current", i === step);
      if (i === step) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
    const li = hopList.children[step];
    if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
    prevBtn.disabled = step <= 0;
    nextBtn.disabled = step >= hops.length - 1;
  }

  function goTo(i, animate = true) {
    const n = currentHops().length;
    step = Math.max(0, Math.min(n - 1, i));
    placePacket(animate);
    remember();
  }

  /** The chosen path and hop are part of the page's URL (?path=&step=): reload and links keep them. */
  function remember() {
    const params = new URLSearchParams(window.location.search);
    params.set("path", String(pathIndex));
    params.set("step", String(step));
    window.history.replaceState(null, "", `${window.location.pathname}?${params}${window.location.hash}`);
  }

  function selectPath(i) {
    stop();
    pathIndex = i;
    step = 0;
    renderHops();
    highlightPath();
    if (onMap) onMap.showPath(currentHops(), dropIndex(paths[pathIndex], currentHops()));
    placePacket(false);
    remember();
  }

  async function showCluster(on) {
    mapBox.hidden = on;
    clusterBox.hidden = !on;
    if (!on) { cy.resize(); return; } // drawn while hidden: the path map measures its box again
    const status = root.querySelector("#cluster-map-status");
    if (!onMap) {
      status.textContent = " loading…";
      try {
        const data = await opts.topology(namespacesOf(result));
        onMap = new PathOnMap(clusterBox, data);
        root._onMap = onMap;
      } catch (err) {
        status.textContent = ` unavailable: ${err.message}`;
        return;
      }
    }
    onMap.resize();
    const matched = onMap.showPath(currentHops(), dropIndex(paths[pathIndex], currentHops()));
    status.textContent = ` ${matched} objects of this path on the map`;
    clusterBox.dataset.ready = "1";
    onMap.place(step, false);
  }
  viewPath.addEventListener("change", () => showCluster(false));
  viewCluster.addEventListener("change", () => showCluster(true));

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    playBtn.textContent = "► Play";
    playBtn.setAttribute("aria-label", "Play");
  }

  function play() {
    if (timer) return stop();
    if (step >= currentHops().length - 1) goTo(0, false);
    playBtn.textContent = "❚❚ Pause";
    playBtn.setAttribute("aria-label", "Pause");
    timer = setInterval(() => {
      if (step >= currentHops().length - 1) return stop();
      goTo(step + 1);
    }, 800);
  }

  prevBtn.addEventListener("click", () => { stop(); goTo(step - 1); });
  nextBtn.addEventListener("click", () => { stop(); goTo(step + 1); });
  playBtn.addEventListener("click", play);
  fitBtn.addEventListener("click", () => {
    follow = !follow;
    fitBtn.textContent = follow ? "Fit" : "Follow";
    fitBtn.title = follow ? "Show the whole path" : "Follow the packet";
    if (!follow) cy.animate({ fit: { eles: cy.elements().not(".packet"), padding: 30 } }, { duration: 300 });
  });
  // ← / → step from anywhere on the page (not while typing in a field).
  document.addEventListener("keydown", (e) => {
    if (!root.isConnected || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target.matches && e.target.matches("input[type=text], input[type=search], textarea, select")) return;
    if (e.key === "ArrowRight") { stop(); goTo(step + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { stop(); goTo(step - 1); e.preventDefault(); }
  });

  jsonBtn.addEventListener("click", () => {
    const payload = { request: opts.request || null, ...result };
    download(`trace-${opts.fileStem || "result"}.json`, new Blob([JSON.stringify(payload, null, 2)], { type: "application/json" }));
  });
  pngBtn.addEventListener("click", () => {
    const shown = onMap && !clusterBox.hidden ? onMap.cy : cy;  // whichever map is on screen
    const blob = shown.png({ output: "blob", full: true, bg: "#ffffff", scale: 2 });
    download(`trace-${opts.fileStem || "result"}.png`, blob);
  });
  if (shareBtn) {
    shareBtn.addEventListener("click", async () => {
      try {
        await sharing.share();
        showSharing();
        const copied = await copyText(sharing.url, shareField);
        notice(copied ? `Link copied: ${sharing.url}` : "Link ready: copy it from the field.", "info");
      } catch (err) {
        notice(`Could not make a share link: ${err.message}`);
      }
    });
    revokeBtn.addEventListener("click", async () => {
      try {
        await sharing.revoke();
        showSharing();
        notice("The share link is revoked: it now answers 404.", "info");
        shareBtn.focus();
      } catch (err) {
        notice(`Could not revoke the link: ${err.message}`);
      }
    });
  }
  showSharing();
  if (rerunBtn) {
    rerunBtn.addEventListener("click", async () => {
      rerunBtn.disabled = true;
      try {
        await opts.onRerun();
      } catch (err) {
        notice(`Re-run failed: ${err.message}`);
      } finally {
        rerunBtn.disabled = false;
      }
    });
  }

  const wanted = new URLSearchParams(window.location.search);
  const fromUrl = Number(wanted.get("path"));
  if (wanted.has("path") && Number.isInteger(fromUrl) && fromUrl >= 0 && fromUrl < Math.min(paths.length, MAX_PATHS_DRAWN)) pathIndex = fromUrl;
  selectPath(pathIndex);
  if (wanted.has("step")) goTo(Number(wanted.get("step")) || 0, false);
  const check = pathList.querySelector(`#path-${groupOf.get(pathIndex) ?? 0}`);
  if (check) check.checked = true;
  return { cy, goTo, selectPath, stop };
}
