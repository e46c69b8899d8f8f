// Pod panel: labels, node, IP, the policies selecting it, its service environment variables and
// its DNS search path — what you need to reason about a pod's traffic without kubectl.
import { api } from "./api.js";
import { el, clear, $, notice } from "./ui.js";

function table(rows, headers) {
  if (!rows.length) return el("p", { class: "muted" }, "None.");
  return el("table", { class: "kv" },
    headers ? el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))) : null,
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => (i === 0 ? el("th", { scope: "row" }, c) : el("td", {}, c)))))));
}

export async function openPodPanel(snapshotId, namespace, name, { onTraceFrom, onTraceTo } = {}) {
  const panel = $("#pod-panel");
  const body = $("#pod-panel-body");
  clear(body).append(el("p", { class: "muted" }, `Loading ${namespace}/${name}…`));
  panel.hidden = false;
  let pod;
  try {
    pod = await api.pod(snapshotId, namespace, name);
  } catch (err) {
    clear(body).append(el("p", { class: "notice notice-error", role: "alert" }, `Pod ${namespace}/${name}: ${err.message}`));
    return;
  }
  const labels = Object.entries(pod.labels || {}).map(([k, v]) => [k, v]);
  const policies = (pod.policies || []).map((p) => (typeof p === "string" ? { name: p } : p));
  const env = (pod.env || pod.env_vars || pod.service_env || []).map((e) => [e.name, e.value, e.service || ""]);
  const dns = pod.dns || {};
  const search = dns.search || pod.dns_search || [];
  clear(body).append(
    el("h2", { id: "pod-panel-title" }, `▢ ${pod.namespace || namespace}/${pod.name || name}`),
    el("p", { class: "actions" },
      el("button", { type: "button", onclick: () => onTraceFrom && onTraceFrom(`pod:${namespace}/${name}`) }, "Trace from this pod"), " ",
      el("button", { type: "button", onclick: () => onTraceTo && onTraceTo(`pod:${namespace}/${name}`) }, "Trace to this pod")),
    table([["Node", pod.node_name || pod.node || "—"], ["IP", (pod.ips || [pod.ip]).filter(Boolean).join(", ") || "—"],
      ["Phase", `${pod.phase || ""}${pod.ready === false ? " (not ready)" : ""}`], ["Workload", pod.workload || pod.owner || "—"],
      ["Host network", pod.host_network ? "yes" : "no"]]),
    el("h3", {}, "Labels"), table(labels),
    el("h3", {}, "Network policies selecting it"),
    policies.length
      ? el("ul", {}, policies.map((p) => el("li", {}, el("code", {}, p.namespace ? `${p.namespace}/${p.name}` : p.name),
        p.policy_types ? ` — isolates ${p.policy_types.join(" + ")}` : "", p.pod_selector ? el("span", { class: "muted" }, ` (selects ${p.pod_selector})`) : null)))
      : el("p", { class: "muted" }, "None: the pod is not isolated (all traffic allowed)."),
    el("h3", {}, "Service environment variables"), table(env, ["Name", "Value", "Service"]),
    (pod.env_caveats || []).length ? el("ul", { class: "muted" }, pod.env_caveats.map((c) => el("li", {}, c))) : null,
    el("h3", {}, "DNS"),
    table([["Search path", search.join(" ") || "—"], ["ndots", dns.ndots ?? pod.ndots ?? "—"],
      ["Nameserver", (dns.nameservers || [dns.nameserver]).filter(Boolean).join(" ") || "—"], ["DNS policy", dns.policy || pod.dns_policy || "—"]]),
  );
  $("#pod-panel-close").focus();
}

export function initPodPanel() {
  const panel = $("#pod-panel");
  $("#pod-panel-close").addEventListener("click", () => { panel.hidden = true; });
  panel.addEventListener("keydown", (e) => { if (e.key === "Escape") panel.hidden = true; });
  return { notice };
}
