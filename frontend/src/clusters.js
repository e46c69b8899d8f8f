// Clusters page: the clusters you can see, their snapshots with object counts, an upload area
// (drag and drop or file picker, with a progress bar; large imports continue as a background job),
// and a one-click way into the demo cluster.
import { api, items, uploadFiles, pollJob } from "./api.js";
import { el, clear, $, notice, formatDate } from "./ui.js";

const COUNT_ORDER = ["Node", "Namespace", "Pod", "Service", "EndpointSlice", "Ingress", "NetworkPolicy"];

function countsText(counts) {
  const entries = Object.entries(counts || {});
  entries.sort((a, b) => {
    const ia = COUNT_ORDER.indexOf(a[0]);
    const ib = COUNT_ORDER.indexOf(b[0]);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a[0].localeCompare(b[0]);
  });
  return entries.map(([k, v]) => `${v} ${k}`).join(" · ") || "empty";
}

async function renderClusters() {
  const list = $("#cluster-list");
  let clusters;
  try {
    clusters = items(await api.clusters());
  } catch (err) {
    clear(list).append(el("p", { class: "notice notice-error", role: "alert" }, `Could not load clusters: ${err.message}`));
    return [];
  }
  // One request for every cluster's snapshots (newest first), grouped here.
  const byCluster = new Map();
  let snapshotsError = null;
  try {
    for (const s of items(await api.allSnapshots())) {
      if (!byCluster.has(s.cluster)) byCluster.set(s.cluster, []);
      byCluster.get(s.cluster).push(s);
    }
  } catch (err) {
    snapshotsError = err;
  }
  clear(list);
  const picker = $("#upload-cluster");
  const previous = picker.value;
  clear(picker).append(el("option", { value: "" }, "+ a new cluster named …"));
  if (!clusters.length) list.append(el("p", { class: "muted" }, "No clusters yet: upload manifests below, or open the demo."));
  for (const c of clusters) {
    picker.append(el("option", { value: c.id }, c.name));
    const snapsBox = el("ul", { class: "snapshots" });
    const card = el("article", { class: "cluster-card", dataset: { clusterId: c.id, clusterName: c.name } },
      el("h3", {}, el("a", { href: `/clusters/${c.id}/` }, c.name)),
      el("p", { class: "actions" },
        el("a", { href: `/clusters/${c.id}/`, class: "button" }, "◫ Map & trace"), " ",
        el("a", { href: `/clusters/${c.id}/matrix/`, class: "button" }, "▦ Matrix")),
      snapsBox);
    list.append(card);
    if (snapshotsError) {
      snapsBox.append(el("li", { class: "notice-error" }, `Snapshots unavailable: ${snapshotsError.message}`));
      continue;
    }
    {
      const snaps = (byCluster.get(c.id) || []).sort((a, b) => b.number - a.number);
      if (!snaps.length) snapsBox.append(el("li", { class: "muted" }, "No snapshot yet."));
      snaps.slice(0, 8).forEach((s) => snapsBox.append(el("li", { class: "snapshot", dataset: { snapshotId: s.id } },
        el("strong", {}, `#${s.number}`), ` ${formatDate(s.created)} `,
        s.materialized ? el("span", { class: "tag" }, "materialised") : null, " ",
        el("span", { class: "counts" }, countsText(s.counts)),
        s.source ? el("span", { class: "muted" }, ` — ${s.source}`) : null)));
      if (snaps.length > 8) snapsBox.append(el("li", { class: "muted" }, `… and ${snaps.length - 8} older snapshots.`));
    }
  }
  if (previous) picker.value = previous;
  picker.dispatchEvent(new Event("change"));
  const demo = clusters.find((c) => c.name === "demo");
  const demoLink = $("#open-demo");
  if (demoLink) {
    if (demo) {
      demoLink.href = `/clusters/${demo.id}/`;
      demoLink.removeAttribute("aria-disabled");
    } else {
      demoLink.setAttribute("aria-disabled", "true");
      demoLink.title = "No cluster named demo yet: `make run` imports it.";
    }
  }
  return clusters;
}

function setupUpload() {
  const zone = $("#drop-zone");
  const input = $("#file-input");
  const picker = $("#upload-cluster");
  const nameField = $("#new-cluster-name");
  const materialize = $("#materialize");
  const progress = $("#upload-progress");
  const status = $("#upload-status");
  picker.addEventListener("change", () => {
    nameField.closest("label").hidden = Boolean(picker.value);
  });

  async function upload(files) {
    if (!files || !files.length) return;
    try {
      let clusterId = picker.value;
      if (!clusterId) {
        const name = nameField.value.trim();
        if (!name) {
          notice("Name the new cluster first (or pick an existing one).");
          nameField.focus();
          return;
        }
        clusterId = (await api.createCluster(name)).id;
        // From now on the upload goes to this cluster (a retry must not try to create it again).
        await renderClusters();
        picker.value = String(clusterId);
        picker.dispatchEvent(new Event("change"));
      }
      progress.hidden = false;
      progress.value = 0;
      progress.max = 100;
      status.textContent = `Uploading ${files.length} file(s)…`;
      const url = api.uploadUrl(clusterId) + (materialize.checked ? "?materialize=1" : "");
      const { status: code, data } = await uploadFiles(url, files, (loaded, total) => {
        progress.value = Math.round((loaded / total) * 100);
        status.textContent = `Uploading: ${Math.round(loaded / 1024)} of ${Math.round(total / 1024)} KiB`;
      });
      progress.value = 100;
      if (code === 202 && data && (data.job || data.job_id || data.id)) {
        const jobId = data.job_id || (data.job && (data.job.id || data.job)) || data.id;
        status.textContent = "Importing in the background…";
        const job = await pollJob(jobId, (j) => {
          const p = j.progress || {};
          progress.max = p.total || 100;
          progress.value = p.current || 0;
          status.textContent = `Importing: ${p.message || j.state}`;
        });
        if (job.state !== "done") throw new Error(job.error || `import ${job.state}`);
        status.textContent = `✔ Imported: ${(job.progress && job.progress.message) || "done"}`;
      } else {
        const snap = (data && data.snapshot) || {};
        const warn = (data && data.warnings) || [];
        status.textContent = `✔ Imported snapshot #${snap.number ?? ""}${warn.length ? ` with ${warn.length} warning(s): ${warn.slice(0, 3).join("; ")}` : ""}`;
      }
      picker.value = clusterId;
      await renderClusters();
      const card = document.querySelector(`[data-cluster-id="${clusterId}"] a`);
      if (card) card.focus();
    } catch (err) {
      status.textContent = "";
      progress.hidden = true;
      notice(`Upload failed: ${err.message}`);
    } finally {
      input.value = "";
    }
  }

  input.addEventListener("change", () => upload([...input.files]));
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    upload([...e.dataTransfer.files]);
  });
  zone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      input.click();
    }
  });
}

export function init() {
  setupUpload();
  renderClusters();
}
