// The trace page (/traces/<id>/) and the read-only shared page (/t/<slug>): both render the same
// view; the shared one names and dates the pinned snapshot and offers the owner a re-run.
import { api } from "./api.js";
import { el, $, clear, notice, pageConfig, formatDate } from "./ui.js";
import { renderTrace } from "./traceview.js";
import { ObjectPanel } from "./objectpanel.js";
import { saveTestControl } from "./savedtests.js";

/** The API's trace object → the pieces the view needs (tolerant of nesting choices). */
export function normTrace(t) {
  const result = t.result || t;
  const request = t.request || result.request || {};
  const snap = (t.snapshot && typeof t.snapshot === "object" ? t.snapshot : null) || t.snapshot_info || {};
  const cluster = snap.cluster && typeof snap.cluster === "object" ? snap.cluster : { id: snap.cluster ?? t.cluster_id ?? t.cluster, name: snap.cluster_name || t.cluster_name };
  return {
    id: t.id,
    result,
    request,
    snapshot: { id: snap.id ?? t.snapshot, number: snap.number ?? t.snapshot_number, created: snap.created ?? t.snapshot_created },
    cluster,
    slug: t.share_slug || t.slug || null,
    shareUrl: t.share_url ? new URL(t.share_url, window.location.origin).href : null,
    isOwner: Boolean(t.is_owner ?? t.can_edit ?? false),
    canEdit: Boolean(t.can_edit),
    shared: Boolean(t.shared),
    sharedBy: t.shared_by || null,
    sharedAt: t.shared_at || null,
    created: t.created,
    rerunOf: t.rerun_of || null,
    reruns: t.reruns || [],
  };
}

function snapshotLine(tr) {
  const name = tr.cluster && tr.cluster.name ? `${tr.cluster.name} ` : "";
  return el("p", { class: "pinned", id: "pinned-snapshot" }, "⊙ Pinned to snapshot ",
    el("strong", {}, `${name}#${tr.snapshot.number ?? tr.snapshot.id ?? "?"}`),
    tr.snapshot.created ? ` taken ${formatDate(tr.snapshot.created)}` : "",
    tr.created ? ` · traced ${formatDate(tr.created)}` : "");
}

/** The API's {verdict: {before, after}, endpoints: {added, removed}, …} → one sentence. */
export function describeChanges(c) {
  const parts = [];
  if (c.verdict && c.verdict.before !== c.verdict.after) parts.push(`verdict ${c.verdict.before} → ${c.verdict.after}`);
  if (c.reason && c.reason.before !== c.reason.after) parts.push(`reason ${c.reason.before || "none"} → ${c.reason.after || "none"}`);
  const ep = c.endpoints || {};
  // entries are {endpoint, port, probability}: name each one with its port and share
  const epText = (e) => (typeof e === "string" ? e
    : `${e.endpoint}${e.port ? `:${e.port}` : ""}${e.probability !== undefined ? ` (${Math.round(e.probability * 1000) / 10}%)` : ""}`);
  if ((ep.added || []).length) parts.push(`new endpoints ${ep.added.map(epText).join(", ")}`);
  if ((ep.removed || []).length) parts.push(`endpoints gone ${ep.removed.map(epText).join(", ")}`);
  (ep.probability_changed || []).forEach((e) => parts.push(
    `${e.endpoint}${e.port ? `:${e.port}` : ""} now gets ${Math.round(e.after * 1000) / 10}% (was ${Math.round(e.before * 1000) / 10}%)`));
  const hops = c.hops || {};
  const n = (k) => (hops[k] || []).length;
  if (n("added") || n("removed")) parts.push(`${n("added")} hop${n("added") === 1 ? "" : "s"} added, ${n("removed")} removed`);
  return parts.join("; ") || "the path changed.";
}

function showRerunNote() {
  const note = sessionStorage.getItem("rerun-note");
  if (note) {
    sessionStorage.removeItem("rerun-note");
    notice(note, "info");
  }
}

const shareLinkFor = (slug) => `${window.location.origin}/t/${slug}`;

export async function initTrace() {
  const cfg = pageConfig();
  const root = $("#trace-root");
  showRerunNote();
  try {
    const tr = normTrace(await api.trace(cfg.trace_id));
    document.title = `${tr.request.from || ""} → ${tr.request.to || ""} · trace`;
    // Every hop's object has a panel, read from the snapshot the trace is pinned to.
    const panel = tr.snapshot.id && $("#pod-panel") ? new ObjectPanel(tr.snapshot.id) : null;
    renderTrace(root, {
      openObject: panel ? (ref) => panel.open(ref) : null,
      result: tr.result,
      request: tr.request,
      fileStem: tr.id,
      context: el("div", {}, snapshotLine(tr),
        tr.rerunOf ? el("p", {}, "↻ A re-run of ", el("a", { href: `/traces/${tr.rerunOf}/` }, `trace #${tr.rerunOf}`), " on a newer snapshot.") : null,
        tr.reruns.length ? el("p", {}, "Re-run since: ", tr.reruns.map((id) => el("a", { href: `/traces/${id}/` }, `#${id} `))) : null,
        tr.cluster && tr.cluster.id ? el("p", {}, el("a", { href: `/clusters/${tr.cluster.id}/` }, "← back to the map and trace builder")) : null,
        tr.cluster && tr.cluster.id ? saveTestControl(tr.cluster.id, tr.id, `${tr.request.from || ""} → ${tr.request.to || ""}`) : null),
      topology: tr.snapshot.id ? (namespaces) => api.topology(tr.snapshot.id, { namespace: namespaces.join(","), expand: "all,nodes" }) : null,
      sharing: {
        shared: tr.shared, url: tr.shareUrl, by: tr.sharedBy, at: tr.sharedAt, canEdit: tr.canEdit,
        async share() {
          const made = await api.share(tr.id);
          const url = made.share_url ? new URL(made.share_url, window.location.origin).href : shareLinkFor(made.share_slug);
          Object.assign(this, { shared: true, url, at: new Date().toISOString(), by: null });
        },
        async revoke() {
          await api.unshare(tr.id);
          Object.assign(this, { shared: false, url: null });
        },
      },
      onRerun: async () => {
        const fresh = await api.rerun(tr.id);
        const c = fresh.changes || {};
        sessionStorage.setItem("rerun-note", c.changed === false ? "Re-run on the latest snapshot: nothing changed." :
          `Re-run on the latest snapshot: ${describeChanges(c)}`);
        const id = (fresh.trace && fresh.trace.id) || fresh.id;
        window.location.assign(`/traces/${id}/`);
      },
    });
  } catch (err) {
    clear(root).append(el("p", { class: "notice notice-error", role: "alert" }, `This trace could not be loaded: ${err.message}`));
  }
}

export async function initShared() {
  const cfg = pageConfig();
  const root = $("#trace-root");
  try {
    const data = await api.shared(cfg.slug);
    const tr = normTrace(data);
    renderTrace(root, {
      result: tr.result,
      request: tr.request,
      fileStem: "shared",
      context: el("div", {}, snapshotLine(tr),
        el("p", { class: "muted" }, "A read-only, shared trace: the result as computed on that snapshot, whatever the cluster looks like now.")),
      onRerun: cfg.trace_id ? async () => {
        const fresh = await api.rerun(cfg.trace_id);
        const c = fresh.changes || {};
        sessionStorage.setItem("rerun-note", c.changed === false ? "Re-run on the latest snapshot: nothing changed." :
          `Re-run on the latest snapshot: ${describeChanges(c)}`);
        const id = (fresh.trace && fresh.trace.id) || fresh.id;
        window.location.assign(`/traces/${id}/`);
      } : null,
    });
  } catch (err) {
    const msg = err.status === 404 ? "This shared trace does not exist or its link was revoked." : `This trace could not be loaded: ${err.message}`;
    clear(root).append(el("p", { class: "notice notice-error", role: "alert" }, msg));
    notice(msg, "info");
  }
}
