// Cluster page: the topology map, the trace builder (autocomplete, port, assumptions, examples) and
// the pod panel.
import { api, items } from "./api.js";
import { el, clear, $, notice, pageConfig, formatDate, showClusterName } from "./ui.js";
import { TopologyMap, initMapControls } from "./topology.js";
import { autocomplete } from "./autocomplete.js";
import { openPodPanel, initPodPanel } from "./podpanel.js";

function searchHits(clusterId, role) {
  return async (text) => items(await api.search(clusterId, { q: text, role, limit: 12 }));
}

/** A few traces one click away, chosen from what this cluster actually contains. */
async function buildExamples(clusterId, submit) {
  const box = $("#examples");
  clear(box);
  let sources = [];
  let dests = [];
  try {
    [sources, dests] = await Promise.all([searchHits(clusterId, "source")(""), searchHits(clusterId, "destination")("")]);
  } catch {
    return;
  }
  const val = (h) => (typeof h === "string" ? h : h.value || h.ref || h.id);
  const sv = sources.map(val);
  const dv = dests.map(val);
  const examples = [];
  const url = dv.find((v) => v.startsWith("url:"));
  if (url) examples.push({ label: `Internet → ${url.slice(4)}`, from: "external:203.0.113.10", to: url });
  const pods = sv.filter((v) => v.startsWith("pod:"));
  const svcs = dv.filter((v) => v.startsWith("svc:") && !v.includes("kube-system/") && !v.endsWith("default/kubernetes"));
  if (pods.length && svcs.length) {
    const pod = pods[0];
    const podNs = pod.slice(4).split("/")[0];
    const other = svcs.find((s) => s.slice(4).split("/")[0] !== podNs) || svcs[0];
    examples.push({ label: `${pod} → ${other}`, from: pod, to: other });
    const [ns, name] = other.slice(4).split("/");
    examples.push({ label: `${pod} → dns:${name}.${ns}`, from: pod, to: `dns:${name}.${ns}` });
  }
  examples.slice(0, 4).forEach((ex, i) => box.append(el("li", {},
    el("button", { type: "button", class: "example", id: `example-${i}`, onclick: () => submit(ex) }, `▶ ${ex.label}`))));
}

export function init() {
  const cfg = pageConfig();
  const clusterId = cfg.cluster_id;
  showClusterName(api, clusterId);
  const form = $("#trace-form");
  const fromInput = $("#trace-from");
  const toInput = $("#trace-to");
  const snapSelect = $("#trace-snapshot");
  autocomplete(fromInput, searchHits(clusterId, "source"));
  autocomplete(toInput, searchHits(clusterId, "destination"));
  initPodPanel();

  api.snapshots(clusterId).then((data) => {
    const snaps = items(data);
    clear(snapSelect);
    snaps.forEach((s, i) => snapSelect.append(el("option", { value: s.id }, `#${s.number}${i === 0 ? " (latest)" : ""} — ${formatDate(s.created)}`)));
    if (!snaps.length) $("#map-status").textContent = "This cluster has no snapshot yet: upload manifests on the Clusters page.";
  }).catch((err) => notice(`Snapshots unavailable: ${err.message}`));

  async function runTrace(values) {
    const button = $("#trace-submit");
    button.disabled = true;
    $("#trace-status").textContent = "Tracing…";
    try {
      const payload = {
        cluster: clusterId,
        snapshot: snapSelect.value ? Number(snapSelect.value) : undefined,
        from: values.from,
        to: values.to,
        protocol: values.protocol || "TCP",
        assumptions: { proxy_mode: values.proxy_mode || "iptables" },
      };
      if (values.port) payload.port = /^\d+$/.test(values.port) ? Number(values.port) : values.port;
      if (values.via) payload.via = values.via;
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
    if (!data.from || !data.to) {
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
  buildExamples(clusterId, submitExample);

  const map = new TopologyMap($("#map"), clusterId, {
    onPod: (d) => openPodPanel(clusterId, d.namespace, d.name || d.label.replace(/^\S+\s/, ""), {
      onTraceFrom: (ref) => { fromInput.value = ref; fromInput.focus(); },
      onTraceTo: (ref) => { toInput.value = ref; toInput.focus(); },
    }),
  });
  const controls = initMapControls(map);
  map.load().then((data) => {
    controls.fillNamespaces(data);
    controls.describe(data);
  }).catch((err) => {
    $("#map-status").textContent = `The map could not be loaded: ${err.message}`;
  });
  window.__topologyMap = map;
}
