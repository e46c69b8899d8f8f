// Cytoscape styles shared by the topology map and the trace map.
// Colour-blind-safe: a palette from Okabe–Ito, and every kind also has its own shape and glyph,
// verdicts their own icon (✔ ✖ ◐) — colour is never the only signal.
import cytoscape from "cytoscape";

export const KIND_STYLE = {
  external: { color: "#999999", shape: "round-rectangle", glyph: "◍" },
  "load-balancer": { color: "#E69F00", shape: "diamond", glyph: "⇶" },
  "ingress-controller": { color: "#E69F00", shape: "hexagon", glyph: "⇥" },
  "ingress-rule": { color: "#F0E442", shape: "tag", glyph: "↳" },
  ingress: { color: "#F0E442", shape: "tag", glyph: "↳" },
  gateway: { color: "#E69F00", shape: "cut-rectangle", glyph: "⇉" },
  route: { color: "#F0E442", shape: "rhomboid", glyph: "⤳" },
  node: { color: "#56B4E9", shape: "rectangle", glyph: "▣" },
  "kube-proxy": { color: "#CC79A7", shape: "vee", glyph: "⇄" },
  dns: { color: "#009E73", shape: "star", glyph: "?" },
  service: { color: "#0072B2", shape: "ellipse", glyph: "◎" },
  "network-policy": { color: "#D55E00", shape: "octagon", glyph: "◈" },
  policy: { color: "#D55E00", shape: "octagon", glyph: "◈" },
  pod: { color: "#009E73", shape: "round-rectangle", glyph: "▢" },
  endpoint: { color: "#009E73", shape: "round-rectangle", glyph: "◉" },
  namespace: { color: "#dddddd", shape: "round-rectangle", glyph: "" },
  workload: { color: "#8FD1BB", shape: "round-rectangle", glyph: "▦" },
  group: { color: "#8FD1BB", shape: "round-rectangle", glyph: "▦" },
  "service-group": { color: "#0072B2", shape: "ellipse", glyph: "◎◎" },
  "node-group": { color: "#56B4E9", shape: "rectangle", glyph: "▣▣" },
};

export function kindStyle(kind) {
  return KIND_STYLE[kind] || { color: "#888888", shape: "ellipse", glyph: "•" };
}

const kindSelectors = Object.entries(KIND_STYLE).map(([kind, s]) => ({
  selector: `node[kind = "${kind}"]`,
  style: { "background-color": s.color, shape: s.shape },
}));

export const STYLE = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "font-size": 11,
      "text-valign": "bottom",
      "text-margin-y": 4,
      "text-wrap": "wrap",
      "text-max-width": 170,
      // never break inside a word: labels wrap at spaces (ids get one after each "/")
      "text-overflow-wrap": "whitespace",
      "background-color": "#888",
      width: 26,
      height: 26,
      "border-width": 1,
      "border-color": "#333",
      color: "#111",
      "text-background-color": "#fff",
      "text-background-opacity": 0.75,
      "text-background-padding": 1,
      // Labels too small to read are not drawn at all: the cheapest speed-up on big maps.
      "min-zoomed-font-size": 7,
    },
  },
  ...kindSelectors,
  {
    selector: ":parent",
    style: {
      "background-opacity": 0.08,
      "background-color": "#0072B2",
      "text-valign": "top",
      "font-weight": "bold",
      "border-style": "dashed",
      padding: 12,
    },
  },
  { selector: "node.aggregate", style: { width: 40, height: 40, "border-width": 3, "border-style": "double" } },
  { selector: "node:selected", style: { "border-width": 4, "border-color": "#000" } },
  { selector: "node.match", style: { "border-width": 5, "border-color": "#000", "border-style": "solid" } },
  {
    selector: "edge",
    style: {
      width: 1.5,
      "line-color": "#aaa",
      "curve-style": "bezier",
      "target-arrow-shape": "triangle",
      "target-arrow-color": "#aaa",
      "arrow-scale": 0.8,
      label: "data(label)",
      "font-size": 11,
      "text-background-color": "#fff",
      "text-background-opacity": 0.9,
      "text-background-padding": 2,
      "min-zoomed-font-size": 7,
    },
  },
  // The topology map: layers already say which way traffic flows, so edges are plain straight lines
  // (haystack: the fastest edge Cytoscape draws) instead of arrows.
  { selector: "edge.topo", style: { "curve-style": "haystack", "target-arrow-shape": "none", "haystack-radius": 0, label: "" } },
  // Faded paths stay underneath: the active path is always drawn on top of them.
  { selector: ".faded", style: { opacity: 0.25, "z-index": 0 } },
  { selector: "node.on-path", style: { "border-width": 3, "border-color": "#0072B2", "font-size": 16, "min-zoomed-font-size": 0, "z-index": 10 } },
  { selector: "edge.on-path", style: { width: 4, "line-color": "#0072B2", "target-arrow-color": "#0072B2", "z-index": 9 } },
  { selector: "node.drop", style: { "background-color": "#D55E00", "border-color": "#8b0000", "border-width": 4, shape: "octagon" } },
  { selector: "edge.drop", style: { "line-color": "#D55E00", "target-arrow-color": "#D55E00", "line-style": "dashed" } },
  { selector: "node.delivered", style: { "border-color": "#0072B2", "border-width": 4 } },
  { selector: "node.current", style: { "border-width": 6, "border-color": "#000", "underlay-color": "#F0E442", "underlay-opacity": 0.7, "underlay-padding": 8 } },
  {
    selector: "node.packet",
    style: {
      width: 16,
      height: 16,
      shape: "ellipse",
      "background-color": "#F0E442",
      "border-width": 3,
      "border-color": "#000",
      label: "",
      "z-index": 999,
      events: "no",
    },
  },
];

export function makeCy(container, elements = [], extra = {}) {
  return cytoscape({
    container,
    elements,
    style: STYLE,
    layout: { name: "preset", fit: true, padding: 30 },
    minZoom: 0.05,
    maxZoom: 3,
    textureOnViewport: true,
    hideEdgesOnViewport: true,
    ...extra,
  });
}
