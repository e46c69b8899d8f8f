// Saved tests, like GCP Connectivity Tests: a named trace that is re-run, with the others, on the
// cluster's latest snapshot, each row saying its verdict now and what changed since its last run.
// The list lives in this browser (localStorage, per cluster); the traces themselves are the server's,
// and each run goes through POST /api/traces/ID/rerun/ (the same request on the latest snapshot).
import { api } from "./api.js";
import { el, clear, verdictBadge, notice } from "./ui.js";
import { describeChanges } from "./tracepage.js";

const key = (clusterId) => `tracer.saved-tests.${clusterId}`;

export function savedTests(clusterId) {
  try {
    const list = JSON.parse(window.localStorage.getItem(key(clusterId)) || "[]");
    return Array.isArray(list) ? list.filter((t) => t && t.name && Number.isInteger(t.trace)) : [];
  } catch {
    return [];
  }
}

function store(clusterId, list) {
  window.localStorage.setItem(key(clusterId), JSON.stringify(list));
}

/** Save (or rename) the test of this trace. */
export function saveTest(clusterId, name, traceId) {
  const list = savedTests(clusterId).filter((t) => t.trace !== traceId && t.name !== name);
  list.push({ name, trace: traceId });
  store(clusterId, list);
}

/** The trace page's "Save as test" control. */
export function saveTestControl(clusterId, traceId, defaultName) {
  const existing = savedTests(clusterId).find((t) => t.trace === traceId);
  const input = el("input", { type: "text", id: "test-name", value: existing ? existing.name : defaultName, "aria-label": "Test name" });
  const button = el("button", { type: "button", id: "save-test" }, existing ? "✔ Saved as a test" : "☆ Save as a test");
  button.addEventListener("click", () => {
    const name = input.value.trim();
    if (!name) return notice("Give the test a name.");
    saveTest(clusterId, name, traceId);
    button.textContent = "✔ Saved as a test";
    notice(`Saved as the test “${name}”: run it with the others from the cluster page.`, "info");
    return null;
  });
  return el("p", { class: "save-test" }, input, " ", button);
}

/** The cluster page's list: every saved test with its last trace, and "Run all on the latest snapshot". */
export function renderSavedTests(box, clusterId) {
  clear(box);
  const list = savedTests(clusterId);
  if (!list.length) {
    box.append(el("p", { class: "muted" }, "None yet: open a trace and press “Save as a test”."));
    return;
  }
  const rows = []; // per test, in list order: its verdict and change cells
  const table = el("ul", { class: "saved-tests" }, list.map((t) => {
    const verdict = el("span", { class: "test-verdict" }, "not run yet");
    const change = el("span", { class: "test-change" }, " · ", el("a", { href: `/traces/${t.trace}/` }, `trace #${t.trace}`));
    const remove = el("button", { type: "button", class: "small", "aria-label": `Forget the test ${t.name}`, onclick: () => {
      store(clusterId, savedTests(clusterId).filter((x) => x.name !== t.name));
      renderSavedTests(box, clusterId);
    } }, "forget");
    rows.push({ verdict, change });
    return el("li", { class: "saved-test" }, el("div", {}, el("strong", {}, t.name), " ", remove), el("div", {}, verdict, change));
  }));
  const run = el("button", { type: "button", id: "run-tests", class: "primary" }, "▶ Run all on the latest snapshot");
  run.addEventListener("click", async () => {
    run.disabled = true;
    const updated = [];
    const current = savedTests(clusterId);
    for (const [i, t] of current.entries()) {
      const row = rows[i];
      try {
        const fresh = await api.rerun(t.trace);
        const trace = fresh.trace || fresh;
        const c = fresh.changes || {};
        if (row) {
          clear(row.verdict).append(verdictBadge(trace.verdict));
          clear(row.change).append(" ", c.changed === false ? "nothing changed" : describeChanges(c), " · ",
            el("a", { href: `/traces/${trace.id}/` }, `trace #${trace.id}`));
          row.change.closest("li").classList.toggle("test-changed", c.changed !== false);
        }
        updated.push({ name: t.name, trace: trace.id }); // the next run compares with this one
      } catch (err) {
        if (row) clear(row.change).append(`✖ ${err.message}`);
        updated.push(t);
      }
    }
    store(clusterId, updated);
    run.disabled = false;
    box.dataset.ran = String(Number(box.dataset.ran || 0) + 1);
  });
  box.append(table, el("p", {}, run));
}
