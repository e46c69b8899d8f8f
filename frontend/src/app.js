// Entry point of the browser UI: each page names itself in <body data-page="…">.
import * as clusters from "./clusters.js";
import * as cluster from "./cluster.js";
import * as matrix from "./matrix.js";
import { initTrace, initShared } from "./tracepage.js";

const PAGES = {
  clusters: clusters.init,
  cluster: cluster.init,
  matrix: matrix.init,
  trace: initTrace,
  shared: initShared,
};

document.addEventListener("DOMContentLoaded", () => {
  const init = PAGES[document.body.dataset.page];
  if (init) init();
});
