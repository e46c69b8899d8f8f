// The view's state lives in the page URL's query string, so reload, Back and a pasted link give the
// same picture. Keys are short and stable: snapshot, ns, expand (absent = the default view; present
// and empty = everything collapsed), sel, q, z/x/y (zoom and pan), and per page more (job, cell, path).

/** The current URL's state as an object of strings; `expand` is null when absent. */
export function viewState() {
  const params = new URLSearchParams(window.location.search);
  const out = Object.fromEntries(params.entries());
  if (!params.has("expand")) out.expand = null;
  return out;
}

/** Write `state` to the URL: pushState for a step the user may want to go Back from, else replaceState. */
export function setViewState(state, push = false) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) {
    if (v === null || v === undefined) continue;
    if (v === "" && k !== "expand") continue;
    params.set(k, String(v));
  }
  const url = `${window.location.pathname}${params.toString() ? `?${params}` : ""}${window.location.hash}`;
  if (url === `${window.location.pathname}${window.location.search}${window.location.hash}`) return;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}
