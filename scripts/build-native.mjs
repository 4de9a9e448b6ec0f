#!/usr/bin/env node
// Builds the libtorch addon (build/Release/tasksr_native.node) and the pixel-kernel addon of the input pipeline
// (build/Release/tasksr_image.node) with node-gyp against the system's Node headers
// (never downloading them), and records which libtorch it used in build/libtorch.json for `tasksr doctor`.
//   --if-possible   exit 0 with a warning when libtorch is missing (npm install of the package)
//   --force         rebuild even when the addon is newer than its sources
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { findLibtorch, repoRoot } from "./find-libtorch.mjs";

const args = new Set(process.argv.slice(2));
const addon = join(repoRoot, "build", "Release", "tasksr_native.node");
const imageAddon = join(repoRoot, "build", "Release", "tasksr_image.node");

function newestSource() {
  const files = [join(repoRoot, "binding.gyp"), join(repoRoot, "scripts", "find-libtorch.mjs")];
  for (const dir of ["src", "image"]) {
    const src = join(repoRoot, "native", dir);
    for (const f of readdirSync(src)) files.push(join(src, f));
  }
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

const info = findLibtorch();
if (!info.ok) {
  const msg =
    "tasksr: cannot build the native engine: libtorch not found.\n" +
    `  tried: ${info.tried.join("; ")}\n` +
    "  fix: sudo apt-get install libtorch-dev   (Debian/Ubuntu), or set LIBTORCH=/path/to/libtorch, then run\n" +
    "       npx tasksr-build   (or: node scripts/build-native.mjs)";
  if (args.has("--if-possible")) {
    console.warn(msg);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}

const record = join(repoRoot, "build", "libtorch.json");
const built = (f) => existsSync(f) && statSync(f).mtimeMs > newestSource();
if (!args.has("--force") && existsSync(record) && built(addon) && built(imageAddon)) {
  process.exit(0);
}

// The Node headers shipped with this node binary (Debian: /usr/include/node) — node-gyp must not download any.
const nodedir = resolve(dirname(process.execPath), "..");
if (!existsSync(join(nodedir, "include", "node", "node_api.h"))) {
  console.error(
    `tasksr: Node headers not found under ${nodedir}/include/node. Install them (Debian: the nodejs package ships them; ` +
      "otherwise apt-get install libnode-dev) and retry.",
  );
  process.exit(1);
}

const require = createRequire(import.meta.url);
const nodeGyp = require.resolve("node-gyp/bin/node-gyp.js");
console.log(
  `tasksr: building native engine against libtorch ${info.version} (${info.source}: ${info.root})${info.cuda ? " with CUDA" : ""}`,
);
const t0 = Date.now();
const gyp = (...cmd) =>
  spawnSync(process.execPath, [nodeGyp, ...cmd, `--nodedir=${nodedir}`, "--release"], {
    cwd: repoRoot,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, npm_config_nodedir: nodedir },
  });
// Reconfigure only when the build files are missing or older than binding.gyp / the libtorch probe; otherwise make
// recompiles just the changed translation units.
const makefile = join(repoRoot, "build", "Makefile");
const configured =
  existsSync(makefile) &&
  existsSync(record) &&
  statSync(makefile).mtimeMs > statSync(join(repoRoot, "binding.gyp")).mtimeMs &&
  statSync(makefile).mtimeMs > statSync(join(repoRoot, "scripts", "find-libtorch.mjs")).mtimeMs;
let res = configured ? { status: 0 } : gyp("configure");
if (res.status === 0) res = gyp("build", `--jobs=${Math.max(1, availableParallelism())}`);
if (res.status !== 0) {
  console.error("tasksr: native build failed (see the compiler output above).");
  process.exit(res.status ?? 1);
}
mkdirSync(dirname(record), { recursive: true });
writeFileSync(record, `${JSON.stringify({ ...info, builtAt: new Date().toISOString() }, null, 2)}\n`);
console.log(`tasksr: native engine built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
