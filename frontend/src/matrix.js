// Matrix page: start a reachability-matrix job, watch its progress bar live, read the heatmap
// (source classes × destinations), click a cell to open its trace; compare two snapshots and see the
// changed cells highlighted.
import { api, items, pollJob } from "./api.js";
import { el, clear, $, notice, pageConfig, formatDate, showClusterName } from "./ui.js";
import { viewState, setViewState } from "./urlstate.js";

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

const PAIR_PAGE_CELLS = 200000; // cells of one drill-down request (the API's cap); only rows in view are drawn
const PAIR_ROW_PX = 28; // the fixed height of a grid row (app.css #pair-grid tr.pair-row)

/** One overview cell's words and class: how many of the pair's cells are delivered / dropped / partial. */
function pairSummary(pair, verdict, reason) {
  const v = pair.verdicts || {};
  const total = pair.cells || 0;
  const shown = reason ? (pair.reasons || {})[reason] || 0 : verdict ? v[verdict] || 0 : total;
  const ok = v.delivered || 0;
  const cls = !total ? "none" : ok === total ? "delivered" : ok === 0 && !(v.partial) ? "dropped" : "partial";
  const glyph = { delivered: "✔", dropped: "✖", partial: "◐", none: "·" }[cls];
  return { shown, cls, glyph, text: `${ok} of ${total} allowed${v.dropped ? `, ${v.dropped} dropped` : ""}${v.partial ? `, ${v.partial} partial` : ""}` };
}

/** The namespaces of a group (`first..last`: a contiguous run of the overview's sorted namespaces). */
function groupMembers(ov, name) {
  const g = (ov.groups || []).find((x) => x.name === name);
  if (!g) return [];
  const names = ov.namespaces.map((n) => n.name);
  return names.slice(names.indexOf(g.first), names.indexOf(g.last) + 1);
}

/**
 * The aggregated heatmap: source namespaces × destination namespaces, one button per pair that has
 * cells, totals per row and column, sticky headers. Filters (verdict, reason, namespace) change what
 * each cell counts and which namespaces show; a click drills down into that pair. A grouped overview
 * (many namespaces) shows group × group instead and a click opens that group pair's namespaces
 * (`onGroup`); a drilled one (`ov.source_group`) shows that pair's namespaces with a way back (`onBack`),
 * so the page never holds more than about 40 × 40 cells.
 */
export function renderOverview(box, ov, { verdict = "", reason = "", nsFilter = "", onPair, onGroup, onBack }) {
  clear(box);
  const groups = Boolean(ov.grouped && !ov.source_group);
  const [sk, dk] = groups ? ["source_group", "destination_group"] : ["source_namespace", "destination_namespace"];
  const keep = (n) => !nsFilter || n.includes(nsFilter) || (groups && groupMembers(ov, n).some((m) => m.includes(nsFilter)));
  const all = groups ? ov.groups.map((g) => g.name) : ov.namespaces.map((n) => n.name);
  const rows = (ov.source_group ? groupMembers(ov, ov.source_group) : all).filter(keep);
  const cols = (ov.source_group ? groupMembers(ov, ov.destination_group) : all).filter(keep);
  const names = rows;
  const pairs = new Map(ov.pairs.map((p) => [`${p[sk]}\u0000${p[dk]}`, p]));
  const rowTotal = new Map();
  const colTotal = new Map();
  for (const p of ov.pairs) {
    const n = pairSummary(p, verdict, reason).shown;
    rowTotal.set(p[sk], (rowTotal.get(p[sk]) || 0) + n);
    colTotal.set(p[dk], (colTotal.get(p[dk]) || 0) + n);
  }
  if (ov.source_group && onBack) {
    box.append(el("p", {}, el("button", { type: "button", class: "link", id: "ov-back", onclick: onBack }, "← all namespace groups"),
      ` ${ov.source_group} → ${ov.destination_group}`));
  }
  const what = reason ? `cells dropped for ${reason}` : verdict ? `${verdict} cells` : "cells";
  const table = el("table", { class: `heatmap overview${names.length <= 12 ? " few" : ""}`, id: "overview" },
    el("caption", {}, `${ov.sources} source classes × ${ov.destinations} destinations in ${ov.namespaces.length} namespaces${groups ? `, shown as ${ov.groups.length} groups of sorted namespace names` : ""}; each cell counts ${what} (✔ all allowed, ✖ none, ◐ some). ${groups ? "Click a cell for its namespaces." : "Click a cell for its classes."}`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "from \\ to"),
      cols.map((n) => el("th", { scope: "col", class: "col-head", title: n }, el("span", {}, n))), el("th", { scope: "col" }, "total"))));
  const tbody = el("tbody");
  for (const src of names) {
    const tr = el("tr", {}, el("th", { scope: "row" }, src));
    for (const dst of cols) {
      const p = pairs.get(`${src}\u0000${dst}`);
      if (!p) {
        tr.append(el("td", {}, el("span", { class: "cell cell-none", "aria-hidden": "true" }, "·")));
        continue;
      }
      const sm = pairSummary(p, verdict, reason);
      tr.append(el("td", {}, el("button", {
        type: "button", class: `cell cell-${sm.cls} ov-cell${groups ? " ov-group" : ""}`, dataset: { src, dst }, title: `${src} → ${dst}: ${sm.text}`,
        // the accessible name starts with the visible text (axe: label-content-name-mismatch)
        "aria-label": `${sm.glyph}${sm.shown} ${what}: ${src} → ${dst}, ${sm.text}`,
        onclick: () => (groups ? onGroup(src, dst) : onPair(src, dst)),
      }, `${sm.glyph}${sm.shown}`)));
    }
    tr.append(el("td", { class: "total" }, String(rowTotal.get(src) || 0)));
    tbody.append(tr);
  }
  tbody.append(el("tr", { class: "totals" }, el("th", { scope: "row" }, "total"),
    cols.map((n) => el("td", { class: "total" }, String(colTotal.get(n) || 0))), el("td", {})));
  table.append(tbody);
  box.append(table);
}

/**
 * One pair's classes: a page of up to PAIR_PAGE_CELLS cells is fetched (the API's cap), and only the rows
 * in view (plus a margin) are in the DOM — spacer rows stand for the others and scrolling swaps rows in.
 */
export async function renderPair(box, jobId, ov, src, dst, { offset = 0, onCell }) {
  clear(box).append(el("p", { class: "muted" }, `Loading ${src} → ${dst}…`));
  const destCount = (ov.namespaces.find((n) => n.name === dst) || {}).destinations || 1;
  const limit = Math.max(1, Math.floor(PAIR_PAGE_CELLS / destCount));
  const data = await api.matrixPair(jobId, { source_namespace: src, destination_namespace: dst, offset, limit });
  const codes = data.codes || [];
  clear(box);
  const end = offset + data.sources.length;
  box.append(el("h3", { id: "pair-h" }, `${src} → ${dst}: source classes ${offset + 1}–${end} of ${data.total_sources}`));
  const table = el("table", { class: "heatmap pair", id: "pair-grid", dataset: { rows: data.sources.length } },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "source class \\ destination"),
      data.destinations.map((d) => el("th", { scope: "col", class: "col-head", title: d.label }, el("span", {}, d.label))))));
  const tbody = el("tbody");
  table.append(tbody);
  const wrap = el("div", { class: "heatmap-wrap pair-wrap" }, table);
  const row = (r) => {
    const srcRow = data.sources[r];
    return el("tr", { class: "pair-row" }, el("th", { scope: "row", title: srcRow.label }, srcRow.label),
      data.destinations.map((d, c) => {
        const [verdict, reason] = codes[data.cells[r][c]] || [null, null];
        const text = `${srcRow.label} → ${d.label}: ${verdict || "not computed"}${reason ? `: ${reason}` : ""}`;
        return el("td", {}, el("button", { type: "button", class: `cell cell-${verdict || "none"}`, title: text, "aria-label": text,
          onclick: () => onCell(srcRow.index * ov.destinations + d.index) }, ICON[verdict] || "·"));
      }));
  };
  const spacer = (n) => el("tr", { class: "spacer", "aria-hidden": "true" }, el("td", { colspan: data.destinations.length + 1, style: `height:${n * PAIR_ROW_PX}px;padding:0;border:0` }));
  let shown = [-1, -1];
  const draw = () => {
    const first = Math.max(0, Math.floor(wrap.scrollTop / PAIR_ROW_PX) - 10);
    const last = Math.min(data.sources.length, first + Math.ceil((wrap.clientHeight || 600) / PAIR_ROW_PX) + 20);
    if (first === shown[0] && last === shown[1]) return;
    shown = [first, last];
    clear(tbody).append(spacer(first));
    for (let r = first; r < last; r++) tbody.append(row(r));
    tbody.append(spacer(data.sources.length - last));
    table.dataset.rendered = String(last - first);
  };
  let pending = false;
  wrap.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  });
  box.append(wrap);
  draw();
  const nav = el("p", {});
  if (offset > 0) nav.append(el("button", { type: "button", onclick: () => renderPair(box, jobId, ov, src, dst, { offset: Math.max(0, offset - limit), onCell }) }, "◀ previous classes"), " ");
  if (end < data.total_sources) nav.append(el("button", { type: "button", id: "pair-more", onclick: () => renderPair(box, jobId, ov, src, dst, { offset: end, onCell }) }, "next classes ▶"));
  box.append(nav);
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
      setViewState({ job: done.id }, true); // the result is a link: Back and reload show it, no recompute
      await showResult(done);
      loadJobList();
    } catch (err) {
      status.textContent = "";
      progress.hidden = true;
      notice(err.status === 503 ? `The job queue is unavailable: ${err.message}` : `The job failed: ${err.message}`);
    } finally {
      cancel.hidden = true;
    }
  }

  /** A finished job's results: the namespace overview (matrix jobs), the class heatmap when it is small,
   * the list of changed cells (diffs, each linked to its trace on both snapshots). */
  async function showResult(done, state = viewState()) {
    const diff = done.kind === "diff";
    currentJob = done.id;
    heat.dataset.job = done.id;
    progress.hidden = false;
    progress.max = 1;
    progress.value = 1;
    progress.dataset.state = "done";
    status.textContent = `✔ ${done.progress && done.progress.message ? done.progress.message : "Done"}`;
    clear(heat);
    clear($("#diff-list"));
    const section = $("#overview-section");
    section.hidden = true;
    let ov = null;
    if (!diff) ov = await api.matrixOverview(done.id).catch(() => null);
    if (ov) {
      section.hidden = false;
      const reasonSel = $("#ov-reason");
      clear(reasonSel).append(el("option", { value: "" }, "any reason"));
      [...new Set(ov.pairs.flatMap((p) => Object.keys(p.reasons || {})))].sort().forEach((r) => reasonSel.append(el("option", { value: r }, r)));
      let shown = ov; // the overview, or one group pair's namespaces when a grouped overview was drilled into
      const draw = () => renderOverview($("#overview-box"), shown, { verdict: $("#ov-verdict").value, reason: reasonSel.value,
        nsFilter: $("#ov-namespace").value.trim(), onPair: (a, b) => { setViewState({ job: done.id, pair: `${a}>${b}` }, true); openPair(a, b); },
        onGroup: (a, b) => api.matrixOverview(done.id, { source_group: a, destination_group: b })
          .then((drill) => { shown = drill; draw(); }).catch((err) => notice(`This group pair could not be read: ${err.message}`)),
        onBack: () => { shown = ov; draw(); } });
      const openPair = (a, b) => renderPair($("#pair-box"), done.id, ov, a, b, { onCell: (cellId) => openCellById(done, cellId) })
        .catch((err) => notice(`This pair could not be read: ${err.message}`));
      $("#ov-verdict").onchange = draw;
      reasonSel.onchange = draw;
      $("#ov-namespace").oninput = draw;
      draw();
      clear($("#pair-box"));
      if (state.pair && state.pair.includes(">")) {
        const [a, b] = state.pair.split(">");
        await openPair(a, b);
      }
    }
    const plan = await api.jobPlan(done.id).catch(() => null);
    const small = plan && (plan.sources || []).length * (plan.destinations || []).length <= MAX_CELLS;
    if (plan && (small || diff)) {
      const cells = await allCells(done.id);
      renderHeatmap(heat, plan, cells, { diff, onCell: (cell) => openCell(done, cell) });
      if (diff) {
        const list = $("#diff-list");
        if (!cells.length) list.append(el("li", {}, "✔ No cell changes between these snapshots."));
        const base = done.params && done.params.base;
        cells.slice(0, 200).forEach((c) => list.append(el("li", {},
          `Δ ${CHANGE_TEXT[c.change] || c.change}: ${plan.sources[c.source].label} → ${plan.destinations[c.destination].label}: `,
          `${ICON[c.base_verdict] || ""} ${c.base_verdict || "absent"} → ${ICON[c.verdict] || ""} ${c.verdict || "absent"}${c.reason ? ` (${c.reason})` : ""} `,
          c.base_request && base ? el("button", { type: "button", class: "link", onclick: () => openCell({ snapshot: base }, { request: c.base_request }) }, "trace before") : null,
          " ", el("button", { type: "button", class: "link", onclick: () => openCell(done, c) }, "trace after"))));
      }
    }
  }

  /** A cell of the overview's drill-down → its stored request → a trace on the job's snapshot. */
  async function openCellById(job, cellId) {
    try {
      const cell = await api.jobCell(job.id, cellId);
      await openCell(job, cell);
    } catch (err) {
      notice(`Could not open this cell: ${err.message}`);
    }
  }

  /** The cluster's matrix and diff jobs, newest first: each a link to its results. */
  async function loadJobList() {
    const box = $("#job-list");
    try {
      const jobs = items(await api.jobs({ cluster: clusterId, limit: 10 })).filter((j) => j.kind === "matrix" || j.kind === "diff");
      clear(box);
      if (!jobs.length) box.append(el("li", { class: "muted" }, "No matrix yet."));
      jobs.forEach((j) => box.append(el("li", {}, el("a", { href: `?job=${j.id}`, onclick: (e) => { e.preventDefault(); setViewState({ job: j.id }, true); openJob(j.id); } },
        `${j.kind === "diff" ? "Δ diff" : "▦ matrix"} #${j.id}`), el("span", { class: "muted" }, ` ${j.state} · ${formatDate(j.created)}`))));
    } catch {
      clear(box).append(el("li", { class: "muted" }, "Unavailable."));
    }
  }

  async function openJob(id, state = viewState()) {
    try {
      const job = await api.job(id);
      if (job.state === "done") await showResult(job, state);
      else status.textContent = `Job #${id}: ${job.state}`;
    } catch (err) {
      notice(`Job #${id} could not be read: ${err.message}`);
    }
  }
  loadJobList();
  const initial = viewState();
  if (initial.job) openJob(initial.job, initial);
  window.addEventListener("popstate", () => {
    const st = viewState();
    if (st.job) openJob(st.job, st);
  });

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
