// Bundles frontend/src into frontend/static/frontend/dist (never committed; built by make run/test).
// No CDN: Cytoscape comes from node_modules and ships inside app.js.
import { build } from "esbuild";

await build({
  entryPoints: ["frontend/src/app.js", "frontend/src/app.css"],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["es2020"],
  outdir: "frontend/static/frontend/dist",
  logLevel: "warning",
});
