// Cluster page: the traffic map (who may reach whom), its list view and search, the object panels,
// and the trace builder. Everything reads one snapshot: the latest unless the user picks another.
// The whole view is in the URL (snapshot, namespace, expanded groups, selection, search, viewport):
// reload, Back and a pasted link give the same picture.
import { api, items } from "./api.js";
import { el, clear, $, notice, pageConfig, formatDate, showClusterName, verdictBadge, debounce } from "./ui.js";
import { autocomplete } from "./autocomplete.js";
import { TrafficMap, describeNode, MAP_KINDS, LAYERS } from "./trafficmap.js";
import { ObjectPanel } from "./objectpanel.js";
import { viewState, setViewState } from "./urlstate.js";
import { renderSavedTests } from "./savedtests.js";

const val = (h) => (typeof h === "string" ? h : h.value);

/** A few traces one click away, chosen from what this snapshot actually contains: a request from the
 * internet through an Ingress, one workload to a service in another namespace (where policies bite),
 * a second namespace to the same service, and a DNS name resolved from the first workload. */
async function buildExamples(snapshotId, submit) {
  const box = $("#examples");
  clear(box);
  if (!snapshotId) return;
  const find = async (qtext, role) => items(await api.search(snapshotId, { q: qtext, role, limit: 50 })).map(val);
  let urls = [];
  let workloads = [];
  let pods = [];
  let svcs = [];
  try {
    [urls, workloads, pods, svcs] = await Promise.all([find("url:", "destination"), find("workload:", "source"),
      find("pod:", "source"), find("svc:", "destination")]);
  } catch {
    return;
  }
  const nsOf = (ref) => ref.slice(ref.indexOf(":") + 1).split("/")[0];
  const infra = (ns) => ns === "kube-system" || ns === "default" || ns.includes("ingress");
  const sources = (workloads.length ? workloads : pods).filter((v) => !infra(nsOf(v)));
  const dests = svcs.filter((v) => !infra(nsOf(v)));
  const examples = [];
  if (urls.length) examples.push({ label: `Internet → ${urls[0].slice(4)}`, from: "external:203.0.113.10", to: urls[0] });
  const src = sources[0];
  const dst = src && dests.find((d) => nsOf(d) !== nsOf(src));
  if (src && dst) {
    examples.push({ label: `${src} → ${dst}`, from: src, to: dst });
    const other = sources.find((x) => nsOf(x) !== nsOf(src) && nsOf(x) !== nsOf(dst));
    if (other) examples.push({ label: `${other} → ${dst}`, from: other, to: dst });
  }
  const near = src && dests.find((d) => nsOf(d) === nsOf(src));
  if (near) {
    const name = near.slice(4).split("/")[1];
    examples.push({ label: `${src} → dns:${name}`, from: src, to: `dns:${name}` });
  }
  if (!examples.length) box.append(el("li", { class: "muted" }, "No example: this snapshot has no pods or services yet."));
  examples.slice(0, 4).forEach((ex, i) => box.append(el("li", {},
    el("button", { type: "button", class: "example", id: `example-${i}`, onclick: () => submit(ex) }, `▶ ${ex.label}`))));
}

/** The cluster's latest traces, newest first: a way back to earlier results. Shared ones carry a badge;
 * the filter shows only shared (or only private) traces. */
async function showRecentTraces(clusterId, shared = "") {
  const box = $("#recent-traces");
  try {
    const traces = items(await api.traces({ cluster: clusterId, limit: 8, shared }));
    clear(box);
    if (!traces.length) box.append(el("li", { class: "muted" }, shared === "true" ? "No shared trace." : "None yet."));
    traces.forEach((t) => box.append(el("li", {}, el("a", { href: `/traces/${t.id}/` }, verdictBadge(t.verdict), ` ${t.source} → ${t.destination}`),
      t.shared ? el("span", { class: "shared-badge", title: "Anyone with its link can read it" }, " 🔗 shared") : null,
      el("span", { class: "muted" }, ` #${t.snapshot_number ?? ""} · ${formatDate(t.created)}`))));
  } catch {
    clear(box).append(el("li", { class: "muted" }, "Unavailable."));
  }
}

export function init() {
  const cfg = pageConfig();
  const clusterId = cfg.cluster_id;
  showClusterName(api, clusterId);
  const form = $("#trace-form");
  const fromInput = $("#trace-from");
  const toInput = $("#trace-to");
  const snapSelect = $("#trace-snapshot");
  const hits = (role) => async (text) => (snapSelect.value ? items(await api.search(snapSelect.value, { q: text, role, limit: 12 })) : []);
  autocomplete(fromInput, hits("source"));
  autocomplete(toInput, hits("destination"));
  showRecentTraces(clusterId);
  renderSavedTests($("#saved-tests"), clusterId);
  $("#recent-filter").addEventListener("change", (e) => showRecentTraces(clusterId, e.target.value));

  async function runTrace(values) {
    const button = $("#trace-submit");
    button.disabled = true;
    $("#trace-status").textContent = "Tracing…";
    try {
      const payload = {
        snapshot: Number(snapSelect.value),
        from: values.from.trim(),
        to: values.to.trim(),
        protocol: values.protocol || "TCP",
        assumptions: { proxy_mode: values.proxy_mode || "iptables" },
      };
      const port = String(values.port || "").trim();
      if (port) payload.port = /^\d+$/.test(port) ? Number(port) : port;
      if (values.via && values.via.trim()) payload.via = values.via.trim();
      if (values.method && values.method.trim()) payload.method = values.method.trim().toUpperCase();
      const headers = {};
      for (const line of String(values.headers || "").split("\n")) {
        const at = line.indexOf(":");
        if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      if (Object.keys(headers).length) payload.headers = headers;
      const trace = await api.createTrace(payload);
      window.location.assign(`/traces/${trace.id}/`);
    } catch (err) {
      $("#trace-status").textContent = "";
      notice(`Trace failed: ${err.message}`);
      button.disabled = false;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    if (!data.from.trim() || !data.to.trim()) {
      notice("Pick a source and a destination.");
      return;
    }
    runTrace(data);
  });

  const submitExample = (ex) => {
    fromInput.value = ex.from;
    toInput.value = ex.to;
    $("#trace-port").value = ex.port || "";
    runTrace({ ...Object.fromEntries(new FormData(form).entries()), ...ex });
  };

  // ---- the map, its panel, its list view and search; every change is written to the URL ----------
  const mapBox = $("#map");
  const status = $("#map-status");
  const nsSelect = $("#ns-filter");
  const search = $("#map-search");
  const results = $("#map-results");
  const listView = $("#map-list");
  let restoring = false; // applying a URL: do not push it again
  let selected = "";

  const panel = new ObjectPanel(null, {
    onTraceFrom: (ref) => { fromInput.value = ref; fromInput.focus(); },
    onTraceTo: (ref) => { toInput.value = ref; toInput.focus(); },
    onOpen: (ref) => { selected = ref; map.select(ref); save(true); },
    onClose: () => { selected = ""; map.select(""); save(true); },
  });
  const map = new TrafficMap(mapBox, {
    onSelect: (d) => {
      if (d.source) {
        selected = `edge:${d.id}`;
        panel.showEdge(d, (id) => { const n = map.cy.getElementById(id); return n.length ? describeNode(n.data()) : id; });
        save(true);
      } else openSelected(d.ref || refOf(d));
    },
    onChange: (data) => { describe(data); renderList(); },
  });

  /** The panel ref of a map element: workloads carry NS/KIND/NAME, open namespaces their name. */
  function refOf(d) {
    if (d.kind === "workload") return d.id;
    if (d.kind === "namespace") return `namespace:${d.namespace}`;
    return d.ref || d.id;
  }

  function openSelected(ref) {
    if (!ref) return;
    panel.open(ref).then((ok) => { if (!ok) notice(`No details for ${ref}.`, "info"); });
  }

  function describe(data) {
    const t = map.timing || {};
    const total = data.total || {};
    status.textContent = `${total.pods} pods, ${total.services} services in ${total.namespaces} namespaces; ${map.cy.nodes().length} objects and ${map.cy.edges().length} edges drawn (fetched in ${t.fetchMs} ms, laid out in ${t.drawMs} ms). ${data.message || ""}`;
  }

  /** The list view: every drawn object as a button, nested like the boxes (keyboard and screen readers). */
  function renderList() {
    clear(listView);
    const cy = map.cy;
    const item = (n) => {
      const d = n.data();
      const kids = n.children().sort((a, b) => String(a.data("label")).localeCompare(String(b.data("label"))));
      const actions = [el("button", { type: "button", class: "link", dataset: { id: d.id }, onclick: () => focusNode(n) }, describeNode(d))];
      if (d.expand) actions.push(" ", el("button", { type: "button", class: "small", "aria-label": `Expand ${d.label}`, onclick: () => map.toggle(d.expand, true, d.id) }, "expand"));
      if (d.collapse) actions.push(" ", el("button", { type: "button", class: "small", "aria-label": `Collapse ${d.label}`, onclick: () => map.toggle(d.collapse, false) }, "collapse"));
      const out = n.outgoers("edge").filter((e) => ["allow", "route", "reach", "mount", "cp-flow"].includes(e.data("kind")));
      const words = (e) => {
        const to = describeNode(e.target().data());
        if (e.data("kind") === "reach") return `→ matrix: ${e.data("label")} cells to ${to} allowed`;
        if (e.data("kind") === "mount") return `→ mounts ${to} (${e.data("label") === "ro" ? "read-only" : "read-write"})`;
        if (e.data("kind") === "cp-flow") return `→ control-plane flow to ${to} on port ${e.data("label")}: ${(e.data("what") || []).join("; ")}`;
        return `→ may reach ${to}${e.data("label") ? ` on ${e.data("label")}` : ""}`;
      };
      const reach = out.length ? el("ul", { class: "reach" }, out.map((e) => el("li", {}, words(e)))) : null;
      return el("li", {}, ...actions, reach, kids.length ? el("ul", {}, kids.map(item)) : null);
    };
    const roots = cy.nodes().orphans().sort((a, b) => String(a.data("label")).localeCompare(String(b.data("label"))));
    listView.append(...roots.map(item));
  }

  function focusNode(n) {
    map.cy.animate({ fit: { eles: n.union(n.descendants()), padding: 80 } }, { duration: 250 });
    map.activate(n);
  }

  function save(push) {
    if (restoring) return;
    setViewState({
      snapshot: snapSelect.value, ns: map.namespace, expand: map.expand === null ? null : [...map.expand].join(","),
      sel: selected, q: search.value.trim(), matrix: reachBox.checked && reachJob ? reachJob : "",
      layers: [...map.layers].sort().join(","), ...(push ? {} : map.viewport()),
    }, push);
  }
  map.cy.on("viewport", debounce(() => save(false), 400));

  // Search: highlight what is drawn; otherwise ask the server, reveal the namespace, and list the hits.
  async function runSearch(qv) {
    clear(results);
    const found = map.highlight(qv);
    if (!qv) return;
    let server = [];
    if (qv.length >= 2) {
      try {
        server = items(await api.search(snapSelect.value, { q: qv, limit: 30 })).filter((h) => /^(pod|svc|workload|node):/.test(h.value));
      } catch { server = []; }
    }
    const drawnIds = new Set(found.map((n) => n.id()));
    const hidden = server.filter((h) => !drawnIds.has(h.value));
    const reveal = [...new Set(hidden.map((h) => /^(?:pod|svc|workload):([^/]+)\//.exec(h.value)).filter(Boolean).map((m) => `ns:${m[1]}`))]
      .filter((t) => !map.expand || !map.expand.has(t)).slice(0, 5);
    if (!found.length && reveal.length) {
      reveal.forEach((t) => map.expand ? map.expand.add(t) : null);
      if (map.expand === null) map.expand = new Set(reveal);
      await map.load();
      return runSearch(qv);
    }
    if (!found.length && !hidden.length) {
      results.append(el("li", { class: "no-match" }, `No match for “${qv}”.`));
      return;
    }
    found.slice(0, 30).forEach((n) => results.append(el("li", {}, el("button", { type: "button", class: "link", onclick: () => focusNode(n) }, describeNode(n.data())))));
    hidden.slice(0, 30).forEach((h) => results.append(el("li", {}, el("button", { type: "button", class: "link", onclick: () => openSelected(h.value) }, `${h.kind} ${h.label}`))));
  }
  search.addEventListener("input", debounce(() => { runSearch(search.value.trim()); save(false); }, 250));
  nsSelect.addEventListener("change", async () => {
    map.namespace = nsSelect.value;
    map.expand = null;
    await map.load({ fit: true });
    save(true);
  });
  $("#collapse-all").addEventListener("click", async () => {
    map.expand = new Set();
    await map.load({ fit: true });
    save(true);
  });
  // Optional layers (storage: claims and who mounts them; control plane: its nodes, components, flows).
  const layerBoxes = [...document.querySelectorAll("input[data-layer]")];
  layerBoxes.forEach((box) => box.addEventListener("change", async () => {
    if (box.checked) map.layers.add(box.dataset.layer);
    else map.layers.delete(box.dataset.layer);
    await map.load({ fit: true }); // the layer's elements join the picture: show all of it
    save(true);
  }));
  $("#fit-map").addEventListener("click", () => map.cy.animate({ fit: { padding: 30 } }, { duration: 250 }));
  const origToggle = map.toggle.bind(map);
  map.toggle = async (...args) => { const r = await origToggle(...args); save(true); return r; };

  async function apply(state) {
    restoring = true;
    try {
      if (state.snapshot && [...snapSelect.options].some((o) => o.value === state.snapshot)) snapSelect.value = state.snapshot;
      const changedSnapshot = map.snapshotId !== snapSelect.value;
      map.snapshotId = snapSelect.value;
      panel.snapshotId = snapSelect.value;
      if (changedSnapshot) buildExamples(snapSelect.value, submitExample);
      if (changedSnapshot || String(state.matrix || "") !== String(reachBox.checked ? reachJob : "")) findMatrix(state);
      map.namespace = state.ns || "";
      map.layers = new Set((state.layers || "").split(",").filter((l) => l in LAYERS));
      layerBoxes.forEach((b) => { b.checked = map.layers.has(b.dataset.layer); });
      map.expand = state.expand === null || state.expand === undefined ? null : new Set(state.expand.split(",").filter(Boolean));
      const data = await map.load({ fit: state.z === undefined });
      fillNamespaces(data);
      nsSelect.value = map.namespace;
      if (state.z !== undefined) {
        map.cy.zoom(Number(state.z));
        map.cy.pan({ x: Number(state.x || 0), y: Number(state.y || 0) });
      }
      search.value = state.q || "";
      if (state.q) await runSearch(state.q);
      selected = state.sel || "";
      if (selected.startsWith("edge:")) {
        const e = map.cy.getElementById(selected.slice(5));
        if (e.length) { e.select(); panel.showEdge(e.data(), (id) => describeNode(map.cy.getElementById(id).data())); }
      } else if (selected) {
        map.select(selected);
        await panel.open(selected);
      } else $("#pod-panel").hidden = true;
    } catch (err) {
      status.textContent = `The map could not be loaded: ${err.message}`;
    } finally {
      restoring = false;
    }
  }

  // Matrix reachability on the map: the newest finished matrix job of this snapshot, when there is one.
  const reachBox = $("#show-reach");
  let reachJob = null;
  async function findMatrix(state) {
    reachJob = null;
    reachBox.disabled = true;
    try {
      const jobs = items(await api.jobs({ cluster: clusterId, kind: "matrix", state: "done", limit: 20 }));
      const job = jobs.find((j) => String(j.snapshot) === String(snapSelect.value));
      if (!job) {
        $("#reach-label").textContent = "Matrix reachability (no matrix job for this snapshot)";
        return;
      }
      reachJob = job.id;
      reachBox.disabled = false;
      $("#reach-label").textContent = `Matrix reachability (job #${job.id})`;
      reachBox.checked = String(state.matrix || "") === String(job.id);
      await showReach();
    } catch {
      $("#reach-label").textContent = "Matrix reachability (unavailable)";
    }
  }
  async function showReach() {
    if (reachBox.checked && reachJob) {
      const job = reachJob;
      // a grouped overview (many namespaces) has no namespace pairs: the map asks for those it shows
      const among = (names) => api.matrixOverview(job, { namespaces: names.join(",") });
      map.onReachChange = renderList;
      try { map.setReach(await api.matrixOverview(job), among); } catch (err) { notice(`Matrix unavailable: ${err.message}`); }
    } else map.setReach(null);
    renderList();
  }
  reachBox.addEventListener("change", async () => { await showReach(); save(true); });

  function fillNamespaces(data) {
    if (nsSelect.options.length > 1) return;
    clear(nsSelect).append(el("option", { value: "" }, "all namespaces"));
    (data.namespaces || []).forEach((ns) => nsSelect.append(el("option", { value: ns }, ns)));
  }

  snapSelect.addEventListener("change", () => {
    apply({ snapshot: snapSelect.value });
    save(true);
  });
  window.addEventListener("popstate", () => apply(viewState()));
  api.snapshots(clusterId).then((data) => {
    const snaps = items(data);
    clear(snapSelect);
    snaps.forEach((s, i) => snapSelect.append(el("option", { value: s.id }, `#${s.number}${i === 0 ? " (latest)" : ""} — ${formatDate(s.created)}`)));
    if (!snaps.length) {
      status.textContent = "This cluster has no snapshot yet: upload manifests on the Clusters page.";
      return;
    }
    apply(viewState());
  }).catch((err) => notice(`Snapshots unavailable: ${err.message}`));
  legend();
}

/** The legend: every shape and edge colour the map uses, in words. */
function legend() {
  const box = $("#map-legend");
  if (!box) return;
  const shapes = { "round-rectangle": "▢", ellipse: "◯", tag: "⬠", barrel: "▭", hexagon: "⬡" };
  box.append(el("h3", {}, "Legend"),
    el("ul", {}, Object.entries(MAP_KINDS).filter(([k]) => k !== "namespace-group").map(([, s]) =>
      el("li", {}, el("span", { class: "swatch", style: `background:${s.color}`, "aria-hidden": "true" }, shapes[s.shape] || "●"), ` ${s.word}`))),
    el("ul", {},
      el("li", {}, el("span", { class: "line allow", "aria-hidden": "true" }), " allowed by a NetworkPolicy rule (label: ports)"),
      el("li", {}, el("span", { class: "line route", "aria-hidden": "true" }), " Ingress route / service → its pods"),
      el("li", {}, el("span", { class: "line entry", "aria-hidden": "true" }), " reachable from outside the cluster"),
      el("li", {}, el("span", { class: "line reach", "aria-hidden": "true" }), " matrix (when shown): namespace → namespace, ✔ all / ◐ some / ✖ no cells allowed"),
      el("li", {}, el("span", { class: "line mount", "aria-hidden": "true" }), " storage layer: mounts the claim (rw/ro); a double pink border = a shared claim"),
      el("li", {}, el("span", { class: "line cp-flow", "aria-hidden": "true" }), " control-plane layer: a flow to or from the API server (port)"),
      el("li", {}, el("span", { class: "ring iso-in", "aria-hidden": "true" }), " ingress isolated: only the drawn allow edges get in"),
      el("li", {}, el("span", { class: "ring open", "aria-hidden": "true" }), " open to all: no policy isolates it"),
      el("li", {}, el("span", { class: "ring iso-out", "aria-hidden": "true" }), " egress isolated: only the drawn allow edges get out"),
      el("li", {}, el("span", { class: "ring group", "aria-hidden": "true" }), " double border: a group — click to expand")));
}
