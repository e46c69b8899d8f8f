// Bundles frontend/src into frontend/static/frontend/dist (never committed; built by make run/test).
import { build } from "esbuild";

await build({
  entryPoints: ["frontend/src/app.js"],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["es2020"],
  outdir: "frontend/static/frontend/dist",
  logLevel: "warning",
});
