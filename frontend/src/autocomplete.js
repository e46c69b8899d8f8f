// An accessible combobox: type, get suggestions from the search API, ↑/↓ to move, Enter to pick,
// Escape to close. Free text stays allowed (any IP or DNS name is a valid destination).
import { el, clear, debounce } from "./ui.js";

let counter = 0;

/** Normalise one search hit: a string, or {value|ref|id, label, kind, detail}. */
export function normHit(hit) {
  if (typeof hit === "string") return { value: hit, label: hit, kind: hit.split(":")[0] };
  const value = hit.value || hit.ref || hit.id || hit.name;
  return { value, label: hit.label || value, kind: hit.kind || String(value).split(":")[0], detail: hit.detail || hit.description || "" };
}

export function autocomplete(input, fetchHits) {
  const listId = `ac-list-${++counter}`;
  const list = el("ul", { id: listId, role: "listbox", class: "ac-list", hidden: true });
  input.after(list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", listId);
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("autocomplete", "off");
  let hits = [];
  let active = -1;
  let seq = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function show() {
    clear(list);
    hits.forEach((hit, i) => {
      const li = el("li", { id: `${listId}-${i}`, role: "option", class: "ac-item", "aria-selected": i === active ? "true" : "false", dataset: { value: hit.value } },
        el("span", { class: "ac-kind" }, hit.kind), " ", hit.label, hit.detail ? el("span", { class: "muted" }, ` ${hit.detail}`) : null);
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        pick(i);
      });
      list.append(li);
    });
    list.hidden = hits.length === 0;
    input.setAttribute("aria-expanded", hits.length ? "true" : "false");
    if (active >= 0) input.setAttribute("aria-activedescendant", `${listId}-${active}`);
  }

  function pick(i) {
    if (!hits[i]) return;
    input.value = hits[i].value;
    close();
    input.dispatchEvent(new CustomEvent("picked", { detail: hits[i] }));
  }

  const update = debounce(async () => {
    const mine = ++seq;
    try {
      const result = await fetchHits(input.value.trim());
      if (mine !== seq) return;
      hits = (result || []).map(normHit).filter((h) => h.value).slice(0, 12);
      active = -1;
      if (document.activeElement === input) show();
    } catch {
      hits = [];
      close();
    }
  }, 150);

  input.addEventListener("input", update);
  input.addEventListener("focus", update);
  input.addEventListener("blur", () => setTimeout(close, 100));
  input.addEventListener("keydown", (e) => {
    if (list.hidden && e.key === "ArrowDown") {
      update();
      return;
    }
    if (list.hidden) return;
    if (e.key === "ArrowDown") {
      active = Math.min(hits.length - 1, active + 1);
      show();
      e.preventDefault();
    } else if (e.key === "ArrowUp") {
      active = Math.max(0, active - 1);
      show();
      e.preventDefault();
    } else if (e.key === "Enter" && active >= 0) {
      pick(active);
      e.preventDefault();
    } else if (e.key === "Escape") {
      close();
    }
  });
  return { close };
}
