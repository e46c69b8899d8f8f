// Cluster page: the topology map, the trace builder (autocomplete, port, assumptions, examples) and
// the pod panel. Everything reads one snapshot: the latest unless the user picks another.
import { api, items } from "./api.js";
import { el, clear, $, notice, pageConfig, formatDate, showClusterName, verdictBadge } from "./ui.js";
import { TopologyMap, initMapControls } from "./topology.js";
import { autocomplete } from "./autocomplete.js";
import { openPodPanel, initPodPanel } from "./podpanel.js";

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

/** The cluster's latest traces, newest first: a way back to earlier results (and their share links). */
async function showRecentTraces(clusterId) {
  const box = $("#recent-traces");
  try {
    const traces = items(await api.traces({ cluster: clusterId, limit: 8 }));
    clear(box);
    if (!traces.length) box.append(el("li", { class: "muted" }, "None yet."));
    traces.forEach((t) => box.append(el("li", {}, el("a", { href: `/traces/${t.id}/` }, verdictBadge(t.verdict), ` ${t.source} → ${t.destination}`),
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
  initPodPanel();
  showRecentTraces(clusterId);

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

  const map = new TopologyMap($("#map"), null, {
    onPod: (d) => openPodPanel(map.snapshotId, d.namespace, (d.ref || d.id).replace(/^pod:[^/]*\//, ""), {
      onTraceFrom: (ref) => { fromInput.value = ref; fromInput.focus(); },
      onTraceTo: (ref) => { toInput.value = ref; toInput.focus(); },
    }),
  });
  const controls = initMapControls(map);
  window.__topologyMap = map;

  async function showSnapshot(snapshotId) {
    map.snapshotId = snapshotId;
    map.expanded.clear();
    buildExamples(snapshotId, submitExample);
    try {
      const data = await map.load();
      controls.fillNamespaces(data);
      controls.describe(data);
    } catch (err) {
      $("#map-status").textContent = `The map could not be loaded: ${err.message}`;
    }
  }

  snapSelect.addEventListener("change", () => showSnapshot(snapSelect.value));
  api.snapshots(clusterId).then((data) => {
    const snaps = items(data);
    clear(snapSelect);
    snaps.forEach((s, i) => snapSelect.append(el("option", { value: s.id }, `#${s.number}${i === 0 ? " (latest)" : ""} — ${formatDate(s.created)}`)));
    if (!snaps.length) {
      $("#map-status").textContent = "This cluster has no snapshot yet: upload manifests on the Clusters page.";
      return;
    }
    showSnapshot(snapSelect.value);
  }).catch((err) => notice(`Snapshots unavailable: ${err.message}`));
}
