// Saved tests, like GCP Connectivity Tests: named trace requests of a cluster, stored on the server (the
// same list for the whole team, on every machine), run together on the cluster's latest snapshot, each row
// saying its verdict now, its verdict at the last run, and what changed (the re-run diff of a trace).
import { api } from "./api.js";
import { el, clear, verdictBadge, notice } from "./ui.js";
import { describeChanges } from "./tracepage.js";

/** The trace page's "Save as test" control (saving twice under one name replaces that test). */
export function saveTestControl(clusterId, traceId, defaultName) {
  const input = el("input", { type: "text", id: "test-name", value: defaultName, "aria-label": "Test name" });
  const button = el("button", { type: "button", id: "save-test" }, "☆ Save as a test");
  api.savedTests(clusterId).then((list) => {
    const existing = (list || []).find((t) => t.last_trace === traceId);
    if (existing) {
      input.value = existing.name;
      button.textContent = "✔ Saved as a test";
    }
  }).catch(() => {});
  button.addEventListener("click", async () => {
    const name = input.value.trim();
    if (!name) return notice("Give the test a name.");
    button.disabled = true;
    try {
      await api.saveTest(clusterId, { name, trace: traceId });
      button.textContent = "✔ Saved as a test";
      notice(`Saved as the test “${name}” for everyone on this cluster: run it with the others from the cluster page.`, "info");
    } catch (err) {
      notice(`Could not save the test: ${err.message}`);
    } finally {
      button.disabled = false;
    }
    return null;
  });
  return el("p", { class: "save-test" }, input, " ", button);
}

const traceLink = (id) => el("a", { href: `/traces/${id}/` }, `trace #${id}`);

/** The cluster page's list: every saved test with its last verdict, and "Run all on the latest snapshot". */
export async function renderSavedTests(box, clusterId) {
  let list;
  try {
    list = await api.savedTests(clusterId);
  } catch (err) {
    clear(box).append(el("p", { class: "muted" }, `Saved tests could not be loaded: ${err.message}`));
    return;
  }
  clear(box);
  if (!list.length) {
    box.append(el("p", { class: "muted" }, "None yet: open a trace and press “Save as a test”."));
    box.dataset.loaded = "1";
    return;
  }
  const rows = new Map(); // test id → its verdict and change cells
  const table = el("ul", { class: "saved-tests" }, list.map((t) => {
    const verdict = el("span", { class: "test-verdict" },
      t.last_verdict ? verdictBadge(t.last_verdict) : "not run yet", " ", el("span", { class: "muted" }, "last run"));
    const change = el("span", { class: "test-change" }, t.last_trace ? [" · ", traceLink(t.last_trace)] : []);
    const remove = t.can_delete ? el("button", { type: "button", class: "small", "aria-label": `Delete the test ${t.name}`,
      onclick: async () => {
        try {
          await api.deleteTest(clusterId, t.id);
        } catch (err) {
          notice(`Could not delete the test: ${err.message}`);
        }
        renderSavedTests(box, clusterId);
      } }, "delete") : null;
    rows.set(t.id, { verdict, change });
    return el("li", { class: "saved-test", "data-test": String(t.id) },
      el("div", {}, el("strong", {}, t.name), " ", el("span", { class: "muted" }, `by ${t.owner || "—"}`), " ", remove),
      el("div", {}, verdict, change));
  }));
  const run = el("button", { type: "button", id: "run-tests", class: "primary" }, "▶ Run all on the latest snapshot");
  run.addEventListener("click", async () => {
    run.disabled = true;
    try {
      const { results } = await api.runTests(clusterId);
      for (const r of results) {
        const row = rows.get(r.test);
        if (!row) continue;
        if (r.error) {
          clear(row.change).append(` ✖ ${r.error}`);
          continue;
        }
        const before = r.previous ? r.previous.verdict : null;
        clear(row.verdict).append(verdictBadge(r.verdict), " ", el("span", { class: "muted" },
          before ? (before === r.verdict ? "now (unchanged)" : `now (was ${before})`) : "now (first run)"));
        const c = r.changes;
        clear(row.change).append(" ", c ? (c.changed === false ? "nothing changed" : describeChanges(c)) : "", " · ",
          traceLink(r.trace));
        row.change.closest("li").classList.toggle("test-changed", Boolean(c && c.changed));
      }
    } catch (err) {
      notice(`Could not run the tests: ${err.message}`);
    }
    run.disabled = false;
    box.dataset.ran = String(Number(box.dataset.ran || 0) + 1);
  });
  box.append(table, el("p", {}, run));
  box.dataset.loaded = "1";
}
