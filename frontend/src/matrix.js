// Matrix page: start a reachability-matrix job, watch its progress bar live, read the heatmap
// (source classes × destinations), click a cell to open its trace; compare two snapshots and see the
// changed cells highlighted.
import { api, items, pollJob } from "./api.js";
import { el, clear, $, notice, pageConfig, formatDate, showClusterName } from "./ui.js";

const ICON = { delivered: "✔", dropped: "✖", partial: "◐", error: "!", changed: "Δ" };
const MAX_CELLS = 40000;
const CHANGE_TEXT = { opened: "opened", closed: "closed", changed: "changed", added: "new", removed: "gone" };

/** Every cell of a job (the cells endpoint is paginated). */
async function allCells(jobId) {
  const cells = [];
  for (let offset = 0; offset < 1_000_000; offset += 5000) {
    const page = await api.jobCells(jobId, offset, 5000);
    const batch = items(page);
    cells.push(...batch);
    if (batch.length < 5000 || (page.count !== undefined && cells.length >= page.count)) break;
  }
  return cells;
}

/**
 * Draw the heatmap as a table of buttons: each cell is reachable by Tab/arrows and names its verdict in
 * words (aria-label) and with an icon, so neither colour nor a mouse is needed to read it.
 */
export function renderHeatmap(box, plan, cells, { diff = false, onCell }) {
  clear(box);
  const rows = plan.sources || [];
  const cols = plan.destinations || [];
  const byIndex = new Map(cells.map((c) => [`${c.source},${c.destination}`, c]));
  const maxRows = Math.max(1, Math.floor(MAX_CELLS / Math.max(1, cols.length)));
  if (rows.length > maxRows) box.append(el("p", { class: "notice" }, `${rows.length} × ${cols.length} cells: showing the first ${maxRows} source classes.`));
  const legend = diff
    ? "Δ marks a cell that changes (its new verdict beside it); · = unchanged."
    : "✔ delivered · ✖ dropped · ◐ partial";
  const table = el("table", { class: "heatmap", id: "heatmap" },
    el("caption", {}, `${rows.length} source classes × ${cols.length} destinations. ${legend}`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "source class \\ destination"),
      cols.map((c) => el("th", { scope: "col", class: "col-head", title: c.label }, el("span", {}, c.label))))));
  const tbody = el("tbody");
  rows.slice(0, maxRows).forEach((r, ri) => {
    const tr = el("tr", {}, el("th", { scope: "row", title: `${r.label}\n${(r.pods || []).join(", ")}` }, r.label));
    cols.forEach((c, ci) => {
      const cell = byIndex.get(`${ri},${ci}`);
      const verdict = cell ? cell.verdict : null;
      let text;
      let glyph;
      let cls;
      if (diff) {
        text = cell
          ? `${r.label} → ${c.label}: ${CHANGE_TEXT[cell.change] || cell.change}, ${cell.base_verdict || "absent"} → ${verdict || "absent"}${cell.reason ? ` (${cell.reason})` : ""}`
          : `${r.label} → ${c.label}: unchanged`;
        glyph = cell ? `${ICON.changed}${ICON[verdict] || ""}` : "·";
        cls = cell ? `cell cell-${verdict || "none"} cell-changed` : "cell cell-none";
      } else {
        text = `${r.label} → ${c.label}: ${verdict || "not computed"}${cell && cell.reason ? `: ${cell.reason}` : ""}`;
        glyph = ICON[verdict] || "·";
        cls = `cell cell-${verdict || "none"}`;
      }
      const btn = el("button", { type: "button", class: cls, title: text, "aria-label": text, dataset: { row: ri, col: ci, verdict: verdict || "", change: cell ? cell.change || "" : "" } }, glyph);
      if (cell) btn.addEventListener("click", () => onCell(cell));
      else btn.disabled = !diff;
      if (diff && !cell) btn.tabIndex = -1;
      tr.append(el("td", {}, btn));
    });
    tbody.append(tr);
  });
  table.append(tbody);
  box.append(table);
  table.addEventListener("keydown", (e) => {
    const btn = e.target.closest("button.cell");
    const moves = { ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], ArrowUp: [-1, 0] };
    const m = btn && moves[e.key];
    if (!m) return;
    const next = table.querySelector(`button.cell[data-row="${Number(btn.dataset.row) + m[0]}"][data-col="${Number(btn.dataset.col) + m[1]}"]`);
    if (next) {
      next.focus();
      e.preventDefault();
    }
  });
}

export function init() {
  const cfg = pageConfig();
  const clusterId = cfg.cluster_id;
  showClusterName(api, clusterId);
  const progress = $("#job-progress");
  const status = $("#job-status");
  const heat = $("#heatmap-box");
  const [snapA, snapB, snapMatrix] = [$("#diff-base"), $("#diff-candidate"), $("#matrix-snapshot")];
  let currentJob = null;

  api.snapshots(clusterId).then((data) => {
    const snaps = items(data);
    for (const sel of [snapA, snapB, snapMatrix]) {
      clear(sel);
      snaps.forEach((s, i) => sel.append(el("option", { value: s.id }, `#${s.number}${i === 0 ? " (latest)" : ""} — ${formatDate(s.created)}`)));
    }
    if (snaps.length > 1) snapA.value = snaps[1].id;
    if (snaps.length < 2) $("#run-diff").disabled = true;
  }).catch((err) => notice(`Snapshots unavailable: ${err.message}`));

  /** A cell → a stored trace of the same flow on the job's snapshot (shareable like any trace). */
  async function openCell(job, cell) {
    const req = cell.request || {};
    try {
      const trace = await api.createTrace({ snapshot: job.snapshot, from: req.from, to: req.to, port: req.port ?? undefined,
        protocol: req.protocol || "TCP", via: req.via || undefined });
      window.location.assign(`/traces/${trace.id}/`);
    } catch (err) {
      notice(`Could not open the trace of this cell: ${err.message}`);
    }
  }

  async function runJob(start, diff) {
    const cancel = $("#cancel-job");
    cancel.hidden = false;
    progress.hidden = false;
    progress.removeAttribute("value");
    status.textContent = "Queued…";
    clear(heat);
    clear($("#diff-list"));
    try {
      const created = await start();
      const job0 = created.job || created;
      currentJob = job0.id;
      heat.dataset.job = currentJob;
      const done = await pollJob(currentJob, (j) => {
        const p = j.progress || {};
        if (p.total) {
          progress.max = p.total;
          progress.value = p.current;
        }
        progress.dataset.state = j.state;
        const frac = p.total ? ` ${p.current}/${p.total} chunks` : "";
        status.textContent = `${j.state}${frac}${p.message ? ` — ${p.message}` : ""}`;
      }, { interval: 300 });
      if (done.state !== "done") {
        status.textContent = `${done.state === "cancelled" ? "■ Cancelled" : "✖ Failed"}${done.error ? `: ${done.error}` : ""}`;
        return;
      }
      progress.max = 1;
      progress.value = 1;
      progress.dataset.state = "done";
      status.textContent = `✔ ${done.progress && done.progress.message ? done.progress.message : "Done"}`;
      const [plan, cells] = await Promise.all([api.jobPlan(currentJob), allCells(currentJob)]);
      renderHeatmap(heat, plan, cells, { diff, onCell: (cell) => openCell(done, cell) });
      if (diff) {
        const list = $("#diff-list");
        if (!cells.length) list.append(el("li", {}, "✔ No cell changes between these snapshots."));
        cells.slice(0, 200).forEach((c) => list.append(el("li", {},
          `Δ ${CHANGE_TEXT[c.change] || c.change}: ${plan.sources[c.source].label} → ${plan.destinations[c.destination].label}: `,
          `${ICON[c.base_verdict] || ""} ${c.base_verdict || "absent"} → ${ICON[c.verdict] || ""} ${c.verdict || "absent"}${c.reason ? ` (${c.reason})` : ""}`)));
      }
    } catch (err) {
      status.textContent = "";
      progress.hidden = true;
      notice(err.status === 503 ? `The job queue is unavailable: ${err.message}` : `The job failed: ${err.message}`);
    } finally {
      cancel.hidden = true;
    }
  }

  $("#matrix-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const chunk = Number($("#cells-per-chunk").value) || undefined;
    runJob(() => api.startMatrix({ cluster: String(clusterId), snapshot: Number(snapMatrix.value) || undefined, cells_per_chunk: chunk }), false);
  });
  $("#diff-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (snapA.value === snapB.value) {
      notice("Pick two different snapshots to compare.");
      return;
    }
    const chunk = Number($("#cells-per-chunk").value) || undefined;
    runJob(() => api.startDiff({ cluster: String(clusterId), base: Number(snapA.value), candidate: Number(snapB.value), cells_per_chunk: chunk }), true);
  });
  $("#cancel-job").addEventListener("click", () => currentJob && api.cancelJob(currentJob).catch((err) => notice(err.message)));
}
