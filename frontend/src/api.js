// Every call the UI makes to the public REST API lives here, so the URL vocabulary is in one place.

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    super(ApiError.describe(status, body));
    this.status = status;
    this.body = body;
  }

  /** Turn DRF's error bodies ({detail}, {field: [msgs]}, [msgs]) into one readable sentence. */
  static describe(status, body) {
    if (!body) return `The server answered ${status}.`;
    if (typeof body === "string") return body.slice(0, 500);
    if (body.detail) {
      // Manifest errors come as a list naming file, document, object and field: show the first few.
      const list = Array.isArray(body.errors) ? body.errors : [];
      const lines = list.slice(0, 3).map((e) => (typeof e === "string" ? e : e.message || JSON.stringify(e)));
      const extra = lines.filter((l) => !String(body.detail).includes(l));
      return [String(body.detail), ...extra].join(" — ") + (list.length > 3 ? ` (and ${list.length - 3} more)` : "");
    }
    if (body.error) return typeof body.error === "string" ? body.error : JSON.stringify(body.error);
    if (Array.isArray(body)) return body.join(" ");
    return Object.entries(body)
      .map(([field, msgs]) => `${field}: ${Array.isArray(msgs) ? msgs.join(" ") : typeof msgs === "object" ? JSON.stringify(msgs) : msgs}`)
      .join("; ");
  }
}

export async function request(method, url, body, { signal } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", signal };
  if (body !== undefined && body !== null) {
    if (body instanceof FormData) init.body = body;
    else {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Lists may be paginated ({count, results}) or plain arrays. */
export const items = (data) => (Array.isArray(data) ? data : (data && data.results) || []);

const q = (params) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => search.append(k, x));
    else search.append(k, v);
  }
  const s = search.toString();
  return s ? `?${s}` : "";
};

export const api = {
  clusters: () => request("GET", "/api/clusters/?limit=500"),
  cluster: (id) => request("GET", `/api/clusters/${id}/`),
  createCluster: (name) => request("POST", "/api/clusters/", { name }),
  snapshots: (clusterId) => request("GET", `/api/snapshots/?cluster=${clusterId}&limit=500`),
  snapshot: (id) => request("GET", `/api/snapshots/${id}/`),
  allSnapshots: () => request("GET", "/api/snapshots/?limit=1000"),
  uploadUrl: (clusterId) => `/api/clusters/${clusterId}/upload/`,
  // Topology, search and pod details are per snapshot (snapshots are immutable).
  topology: (snapshotId, params) => request("GET", `/api/snapshots/${snapshotId}/topology/${q(params)}`),
  // `expand` is sent even when empty: an empty list means "everything collapsed", absent means "the default view".
  map: (snapshotId, { expand, ...params }) => {
    const rest = q(params);
    const open = expand === undefined || expand === null ? "" : `${rest ? "&" : "?"}expand=${encodeURIComponent(expand)}`;
    return request("GET", `/api/snapshots/${snapshotId}/map/${rest}${open}`);
  },
  object: (snapshotId, kind, key) =>
    request("GET", `/api/snapshots/${snapshotId}/objects/${encodeURIComponent(kind)}/${key.split("/").map(encodeURIComponent).join("/")}/`),
  search: (snapshotId, params) => request("GET", `/api/snapshots/${snapshotId}/search/${q(params)}`),
  pod: (snapshotId, namespace, name) =>
    request("GET", `/api/snapshots/${snapshotId}/pods/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/`),
  createTrace: (payload) => request("POST", "/api/traces/", payload),
  trace: (id) => request("GET", `/api/traces/${id}/`),
  traces: (params) => request("GET", `/api/traces/${q(params)}`),
  rerun: (id) => request("POST", `/api/traces/${id}/rerun/`, {}),
  savedTests: (clusterId) => request("GET", `/api/clusters/${clusterId}/saved-tests/`),
  saveTest: (clusterId, payload) => request("POST", `/api/clusters/${clusterId}/saved-tests/`, payload),
  deleteTest: (clusterId, id) => request("DELETE", `/api/clusters/${clusterId}/saved-tests/${id}/`),
  runTests: (clusterId) => request("POST", `/api/clusters/${clusterId}/saved-tests/run/`, {}),
  share: (id) => request("POST", `/api/traces/${id}/share/`, {}),
  unshare: (id) => request("DELETE", `/api/traces/${id}/share/`),
  shared: (slug) => request("GET", `/api/share/${encodeURIComponent(slug)}`),
  startMatrix: (payload) => request("POST", "/api/jobs/matrix/", payload),
  startDiff: (payload) => request("POST", "/api/jobs/diff/", payload),
  job: (id) => request("GET", `/api/jobs/${id}/`),
  jobPlan: (id) => request("GET", `/api/jobs/${id}/plan`),
  jobCells: (id, offset = 0, limit = 5000) => request("GET", `/api/jobs/${id}/cells/?offset=${offset}&limit=${limit}`),
  cancelJob: (id) => request("POST", `/api/jobs/${id}/cancel/`, {}),
  gateways: (snapshotId) => request("GET", `/api/snapshots/${snapshotId}/gateways/`),
  jobs: (params) => request("GET", `/api/jobs/${q(params)}`),
  matrixOverview: (id, params) => request("GET", `/api/jobs/${id}/matrix${params ? q(params) : ""}`),
  matrixPair: (id, params) => request("GET", `/api/jobs/${id}/matrix/pair${q(params)}`),
  jobCell: (id, cellId) => request("GET", `/api/jobs/${id}/cells/${cellId}/`),
};

/** Upload with a progress callback (fetch cannot report upload progress; XHR can). */
export function uploadFiles(url, files, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = xhr.responseText;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, data });
      else reject(new ApiError(xhr.status, data));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "The upload failed: network error.")));
    xhr.send(form);
  });
}

/** Poll a job until it leaves queued/running; onUpdate gets every state seen. */
export async function pollJob(id, onUpdate, { interval = 400, signal } = {}) {
  for (;;) {
    if (signal && signal.aborted) throw new Error("cancelled");
    const job = await api.job(id);
    onUpdate(job);
    if (!["queued", "running"].includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, interval));
  }
}
