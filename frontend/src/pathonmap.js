// The trace's path on the cluster's topology map: each hop is matched to the element that draws
// the same object (pods, services, nodes, Ingresses by id; kube-proxy, the outside world and load
// balancers by kind/address), those elements and the edges between consecutive ones are highlighted,
// and the packet moves over them in step with the hop list.
import { makeCy } from "./cystyle.js";
import { toElements } from "./topology.js";

/** Namespaces named by the hops (pod:NS/NAME, svc:NS/NAME, ingress:NS/NAME, ingress-controller:NS/POD). */
export function namespacesOf(result) {
  const out = new Set();
  for (const p of result.paths || []) {
    for (const h of p.hops || []) {
      const m = /^(pod|svc|ingress|ingress-controller|endpoint):([^/]+)\//.exec(h.id || "");
      if (m) out.add(m[2]);
    }
    const m = /^pod:([^/]+)\//.exec(p.endpoint || "");
    if (m) out.add(m[1]);
  }
  return [...out];
}

/** The topology element id that draws a hop's object, or null. */
export function elementFor(cy, hop) {
  const id = hop.id || "";
  const direct = cy.getElementById(id);
  if (direct.length) return direct;
  if (hop.kind === "kube-proxy" || id.startsWith("kube-proxy")) return cy.getElementById("kube-proxy");
  if (hop.kind === "external" || id.startsWith("external:")) return cy.getElementById("external");
  if (hop.kind === "ingress-controller") {
    const pod = cy.getElementById(`pod:${id.replace(/^ingress-controller:/, "")}`);
    if (pod.length) return pod;
  }
  if (hop.kind === "load-balancer") {
    const addr = id.replace(/^lb:/, "");
    const lb = cy.nodes('[kind = "load-balancer"]').filter((n) => String(n.data("label")).includes(addr));
    if (lb.length) return lb[0];
  }
  if (hop.kind === "network-policy" && id.startsWith("pod:")) return cy.getElementById(id);
  if (id.startsWith("node:")) {
    const nodes = cy.getElementById("nodes");
    if (nodes.length) return nodes;
  }
  return null;
}

export class PathOnMap {
  constructor(container, data) {
    this.cy = makeCy(container, toElements(data), { pixelRatio: 1, autoungrabify: true });
    this.cy.add({ group: "nodes", data: { id: "packet" }, classes: "packet", position: { x: 0, y: 0 } });
    this.cy.getElementById("packet").style("display", "none");
    this.steps = [];
  }

  /** Highlight one path; steps[i] = the element of hop i (or the previous matched one). */
  showPath(hops, dropIndex) {
    const cy = this.cy;
    cy.elements().removeClass("on-path faded current drop");
    const onPath = cy.collection();
    let last = null;
    this.steps = hops.map((hop, i) => {
      const found = elementFor(cy, hop);
      if (found && found.length) {
        onPath.merge(found);
        if (last && last.id() !== found.id()) onPath.merge(last.edgesTo(found)).merge(found.edgesTo(last));
        if (i === dropIndex) found.addClass("drop");
        last = found;
      }
      return last;
    });
    onPath.addClass("on-path");
    cy.elements().not(onPath).not(".packet").addClass("faded");
    this.matched = onPath.nodes().length;
    if (onPath.length) cy.fit(onPath, 60);
    return this.matched;
  }

  place(step, animate) {
    const node = this.steps[step];
    const packet = this.cy.getElementById("packet");
    this.cy.nodes(".current").removeClass("current");
    if (!node) {
      packet.style("display", "none");
      return;
    }
    node.addClass("current");
    packet.style("display", "element");
    packet.stop(true);
    if (animate) packet.animate({ position: { ...node.position() } }, { duration: 450 });
    else packet.position({ ...node.position() });
  }

  resize() {
    this.cy.resize();
  }
}
