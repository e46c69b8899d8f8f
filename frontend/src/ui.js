// Small DOM helpers shared by every page: element builder, verdict badges, notices, downloads.

/** Build an element: el("a", {href: "/", class: "x", onclick: fn}, "text", childNode, …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") node.style.cssText = value; // CSSOM, not a style="" attribute: the CSP forbids those
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/* Verdicts carry an icon and a word, never colour alone (colour-blind-safe: blue / orange / red-ish
   with distinct glyphs). */
const VERDICTS = {
  delivered: { icon: "✔", label: "delivered" },
  dropped: { icon: "✖", label: "dropped" },
  partial: { icon: "◐", label: "partial" },
};

export function verdictBadge(verdict, extra = "") {
  const v = VERDICTS[verdict] || { icon: "?", label: verdict || "unknown" };
  return el("span", { class: `verdict verdict-${verdict || "unknown"}`, title: v.label },
    el("span", { class: "verdict-icon", "aria-hidden": "true" }, v.icon), ` ${v.label}${extra}`);
}

/** What each contract reason code means and where to start fixing it: the engine's one table
 * (GET /api/reasons/), loaded once per page by `loadReasons()` before the page draws. */
const REASONS = new Map();

export async function loadReasons() {
  if (REASONS.size) return;
  try {
    const response = await fetch("/api/reasons/", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    for (const row of await response.json()) REASONS.set(row.code, [row.meaning, row.fix]);
  } catch {
    // offline or refused: reasonText falls back to the bare code
  }
}

export function reasonText(code) {
  return REASONS.get(code) || [code ? `Dropped: ${code}.` : "", ""];
}

/** A dismissable message at the top of the page (role=alert so screen readers announce it). */
export function notice(message, kind = "error") {
  const box = $("#notices");
  if (!box) return;
  const item = el("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    el("span", { "aria-hidden": "true" }, kind === "error" ? "⚠ " : "ℹ "), message,
    el("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"));
  box.append(item);
  if (kind !== "error") setTimeout(() => item.remove(), 6000);
}

export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function formatDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

/** Page configuration handed over by the Django template (json_script id="page-config"). */
export function pageConfig() {
  const node = document.getElementById("page-config");
  return node ? JSON.parse(node.textContent) : {};
}

export function debounce(fn, ms = 200) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Copy text; falls back to selecting it in a visible field when the clipboard is unavailable. */
export async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (field) {
      field.focus();
      field.select();
    }
    return false;
  }
}

/** Put the cluster's name (read through the API) into the page heading; 404 → a clear message. */
export async function showClusterName(api, clusterId) {
  try {
    const c = await api.cluster(clusterId);
    const h = document.getElementById("cluster-name");
    if (h) h.textContent = c.name;
    document.title = `${c.name} · ${document.title}`;
    return c;
  } catch (err) {
    notice(err.status === 404 ? "This cluster does not exist, or it is not shared with you." : `Cluster unavailable: ${err.message}`);
    return null;
  }
}
