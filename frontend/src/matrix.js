// Matrix page: start a reachability-matrix job, watch its progress bar live, read the heatmap
// (source classes × destinations), click a cell to open its trace; compare two snapshots and see the
// changed cells highlighted.
import { api, items, pollJob } from "./api.js";
import { el, clear, $, notice, pageConfig, formatDate, showClusterName } from "./ui.js";

const ICON = { delivered: "✔", dropped: "✖", partial: "◐", changed: "Δ" };
const MAX_CELLS = 40000;

const label = (x) => (typeof x === "string" ? x : x.label || x.ref || x.id || x.name || JSON.stringify(x));
const ref = (x) => (typeof x === "string" ? x : x.ref || x.value || x.representative || x.id || x.name);

/** Normalise the job's result into {rows, cols, cell(r, c)} whatever the cell layout. */
export function normMatrix(result) {
  const rows = result.sources || result.rows || [];
  const cols = result.destinations || result.targets || result.columns || [];
  const cells = result.cells || result.matrix || [];
  let get;
  if (Array.isArray(cells) && Array.isArray(cells[0])) get = (r, c) => (cells[r] || [])[c];
  else {
    const idx = new Map();
    const rowKey = new Map(rows.map((r, i) => [String(ref(r)), i]));
    const colKey = new Map(cols.map((c, i) => [String(ref(c)), i]));
    for (const cell of cells) {
      const r = typeof cell.source === "number" ? cell.source : cell.row ?? rowKey.get(String(cell.source ?? cell.from));
      const c = typeof cell.destination === "number" ? cell.destination : cell.col ?? colKey.get(String(cell.destination ?? cell.to));
      idx.set(`${r},${c}`, cell);
    }
    get = (r, c) => idx.get(`${r},${c}`);
  }
  return { rows, cols, get };
}

function cellVerdict(cell) {
  if (!cell) return null;
  if (typeof cell === "string") return cell;
  return cell.verdict || (cell.allowed === true ? "delivered" : cell.allowed === false ? "dropped" : null);
}

function renderHeatmap(box, result, { changed, onCell }) {
  clear(box);
  const { rows, cols, get } = normMatrix(result);
  if (rows.length * cols.length > MAX_CELLS) {
    box.append(el("p", { class: "notice" }, `The matrix has ${rows.length} × ${cols.length} cells; showing the first ${Math.floor(MAX_CELLS / cols.length)} rows.`));
  }
  const shownRows = rows.slice(0, Math.max(1, Math.floor(MAX_CELLS / Math.max(1, cols.length))));
  const table = el("table", { class: "heatmap", id: "heatmap" },
    el("caption", {}, `${rows.length} source classes × ${cols.length} destinations. ✔ delivered · ✖ dropped · ◐ partial${changed ? " · Δ changed between the snapshots" : ""}`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "source \\ destination"),
      cols.map((c) => el("th", { scope: "col", class: "col-head", title: label(c) }, el("span", {}, label(c)))))));
  const tbody = el("tbody");
  shownRows.forEach((r, ri) => {
    const tr = el("tr", {}, el("th", { scope: "row", title: label(r) }, label(r)));
    cols.forEach((c, ci) => {
      const cell = get(ri, ci);
      const verdict = cellVerdict(cell);
      const isChanged = changed && changed.has(`${ri},${ci}`);
      const reason = cell && cell.reason ? `: ${cell.reason}` : "";
      const text = `${label(r)} → ${label(c)}: ${verdict || "not computed"}${reason}${isChanged ? " (changed)" : ""}`;
      const btn = el("button", { type: "button", class: `cell cell-${verdict || "none"}${isChanged ? " cell-changed" : ""}`, title: text, "aria-label": text, dataset: { row: ri, col: ci, verdict: verdict || "" } },
        isChanged ? `${ICON.changed}${ICON[verdict] || ""}` : ICON[verdict] || "·");
      if (cell) btn.addEventListener("click", () => onCell(r, c, cell));
      else btn.disabled = true;
      tr.append(el("td", {}, btn));
    });
    tbody.append(tr);
  });
  table.append(tbody);
  box.append(table);
  table.addEventListener("keydown", (e) => {
    const btn = e.target.closest("button.cell");
    if (!btn) return;
    const moves = { ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], ArrowUp: [-1, 0] };
    const m = moves[e.key];
    if (!m) return;
    const next = table.querySelector(`button.cell[data-row="${Number(btn.dataset.row) + m[0]}"][data-col="${Number(btn.dataset.col) + m[1]}"]`);
    if (next) { next.focus(); e.preventDefault(); }
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
      snaps.forEach((s) => sel.append(el("option", { value: s.id }, `#${s.number} — ${formatDate(s.created)}`)));
    }
    if (snaps.length > 1) snapA.value = snaps[1].id;
  }).catch((err) => notice(`Snapshots unavailable: ${err.message}`));

  async function openCell(row, col, cell) {
    const traceId = cell.trace_id || cell.trace;
    if (traceId) {
      window.location.assign(`/traces/${traceId}/`);
      return;
    }
    try {
      const trace = await api.createTrace({
        cluster: clusterId,
        snapshot: cell.snapshot || (snapMatrix.value ? Number(snapMatrix.value) : undefined),
        from: cell.from || ref(row),
        to: cell.to || ref(col),
        port: cell.port ?? (typeof col === "object" ? col.port : undefined),
        protocol: cell.protocol || (typeof col === "object" && col.protocol) || "TCP",
      });
      window.location.assign(`/traces/${trace.id}/`);
    } catch (err) {
      notice(`Could not open the trace of this cell: ${err.message}`);
    }
  }

  async function runJob(start, render) {
    $("#cancel-job").hidden = false;
    progress.hidden = false;
    progress.removeAttribute("value");
    status.textContent = "Queued…";
    try {
      const job = await start();
      currentJob = job.id || job.job_id;
      const done = await pollJob(currentJob, (j) => {
        if (j.progress_total) {
          progress.max = j.progress_total;
          progress.value = j.progress_current;
        }
        const frac = j.progress_total ? ` ${j.progress_current}/${j.progress_total}` : "";
        status.textContent = `${j.state}${frac}${j.progress_message ? ` — ${j.progress_message}` : ""}`;
      });
      if (done.state !== "done") {
        status.textContent = `${done.state === "cancelled" ? "■ Cancelled" : "✖ Failed"}${done.error ? `: ${done.error}` : ""}`;
        return;
      }
      progress.max = 1;
      progress.value = 1;
      status.textContent = `✔ Done${done.finished ? ` at ${formatDate(done.finished)}` : ""}.`;
      render(done.result || {});
    } catch (err) {
      status.textContent = "";
      progress.hidden = true;
      notice(err.status === 503 ? `The job queue is unavailable: ${err.message}` : `The job failed to start: ${err.message}`);
    } finally {
      $("#cancel-job").hidden = true;
    }
  }

  $("#matrix-form").addEventListener("submit", (e) => {
    e.preventDefault();
    runJob(() => api.startMatrix({ cluster: clusterId, snapshot: Number(snapMatrix.value) || undefined }),
      (result) => renderHeatmap(heat, result, { onCell: openCell }));
  });
  $("#diff-form").addEventListener("submit", (e) => {
    e.preventDefault();
    runJob(() => api.startDiff({ cluster: clusterId, base: Number(snapA.value), candidate: Number(snapB.value) }),
      (result) => {
        const changedList = result.changed || result.changes || [];
        const matrix = result.candidate_matrix || result.after || result.matrix || result;
        const { rows, cols } = normMatrix(matrix);
        const rk = new Map(rows.map((r, i) => [String(ref(r)), i]));
        const ck = new Map(cols.map((c, i) => [String(ref(c)), i]));
        const changed = new Set(changedList.map((ch) => `${typeof ch.row === "number" ? ch.row : rk.get(String(ch.source ?? ch.from))},${typeof ch.col === "number" ? ch.col : ck.get(String(ch.destination ?? ch.to))}`));
        renderHeatmap(heat, matrix, { changed, onCell: openCell });
        const list = $("#diff-list");
        clear(list);
        if (!changedList.length) list.append(el("li", {}, "No cell changes between these snapshots."));
        changedList.forEach((ch) => list.append(el("li", {},
          `Δ ${label(ch.source ?? ch.from)} → ${label(ch.destination ?? ch.to)}: `,
          `${ICON[(ch.before || {}).verdict] || ""} ${(ch.before || {}).verdict || "?"} → ${ICON[(ch.after || {}).verdict] || ""} ${(ch.after || {}).verdict || "?"}`)));
      });
  });
  $("#cancel-job").addEventListener("click", () => currentJob && api.cancelJob(currentJob).catch((err) => notice(err.message)));
}
