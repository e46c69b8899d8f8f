// The trace's path on the cluster's topology map: each hop is matched to the element that draws
// the same object (pods, services, nodes, Ingresses by id; kube-proxy, the outside world and load
// balancers by kind/address), those elements and the edges between consecutive ones are highlighted,
// and the packet moves over them in step with the hop list.
import { makeCy } from "./cystyle.js";
import { toElements } from "./topology.js";

// The engine's typed hop reference {kind, namespace, name} → the id the topology map gives that object.
const MAP_PREFIX = { pod: "pod", service: "svc", node: "node", ingress: "ingress", "load-balancer": "lb", "ingress-controller": "ingress-controller", gateway: "gateway" };

export function refId(ref) {
  if (!ref || !MAP_PREFIX[ref.kind]) return null;
  return `${MAP_PREFIX[ref.kind]}:${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

/** Namespaces named by the hops' references (and the paths' endpoint references). */
export function namespacesOf(result) {
  const out = new Set();
  for (const p of result.paths || []) {
    for (const h of p.hops || []) if (h.ref && h.ref.namespace) out.add(h.ref.namespace);
    if (p.endpoint_ref && p.endpoint_ref.namespace) out.add(p.endpoint_ref.namespace);
  }
  return [...out];
}

/** The topology element id that draws a hop's object, or null. */
export function elementFor(cy, hop) {
  const ref = hop.ref || {};
  const id = refId(ref);
  const direct = id ? cy.getElementById(id) : cy.collection();
  if (direct.length) return direct;
  if (ref.kind === "kube-proxy") return cy.getElementById("kube-proxy");
  // a Gateway's listener is drawn as its Gateway (the route hop stays there too: it is the Gateway deciding)
  if (ref.kind === "listener") return cy.getElementById(`gateway:${ref.namespace}/${String(ref.name).split("/")[0]}`);
  if (ref.kind === "external") return cy.getElementById("external");
  if (ref.kind === "ingress-controller") {
    // an in-cluster controller is drawn as its pod when the hop names one, else as its controller element
    const pods = cy.nodes('[kind = "pod"]').filter((n) => String(n.id()).startsWith(`pod:${ref.namespace}/${ref.name}`));
    if (pods.length) return pods[0];
  }
  if (ref.kind === "load-balancer") {
    const lb = cy.nodes('[kind = "load-balancer"]').filter((n) => String(n.data("label")).includes(ref.name));
    if (lb.length) return lb[0];
  }
  if (ref.kind === "node") {
    const nodes = cy.getElementById("nodes");
    if (nodes.length) return nodes;
  }
  // a policy hop naming a policy has no element of its own: the step stays on the previous object
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
