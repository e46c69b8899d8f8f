// Entry point of the browser UI.
import cytoscape from "cytoscape";

window.cytoscape = cytoscape;
