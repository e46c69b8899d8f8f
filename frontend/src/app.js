// Entry point of the browser UI: each page names itself in <body data-page="…">.
import * as clusters from "./clusters.js";
import * as cluster from "./cluster.js";
import * as matrix from "./matrix.js";
import { initTrace, initShared } from "./tracepage.js";
import { loadReasons } from "./ui.js";

const PAGES = {
  clusters: clusters.init,
  cluster: cluster.init,
  matrix: matrix.init,
  trace: initTrace,
  shared: initShared,
};

document.addEventListener("DOMContentLoaded", async () => {
  const init = PAGES[document.body.dataset.page];
  if (["trace", "shared", "matrix"].includes(document.body.dataset.page)) await loadReasons();
  if (init) init();
});
