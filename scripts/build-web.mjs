#!/usr/bin/env node
// Bundles the in-browser page (web/src/*.ts, with tasksr's own tiling code) into web/dist with esbuild:
// main.js (the page), worker.js (onnxruntime-web inference), index.html and style.css. onnxruntime-web's .wasm
// files are not copied: the server (src/web/serve.ts) serves them from node_modules under /ort/.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "web", "dist");
let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  console.error("tasksr: esbuild is not installed (npm ci installs it); the web page was not built");
  process.exit(1);
}
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: { main: join(root, "web/src/main.ts"), worker: join(root, "web/src/worker.ts") },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
});
for (const f of ["index.html", "style.css"]) copyFileSync(join(root, "web", f), join(out, f));
console.log(`tasksr: web page built in ${out}`);
