#!/usr/bin/env node
// Runs the compiled test suite (dist/test/**/*.test.js) with node:test under tcmalloc, printing the runner's summary.
// Extra arguments are file filters: `npm test -- engine` runs the test files whose path contains "engine".
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { envWithTcmalloc } from "../bin/preload.js";
import { repoRoot } from "./find-libtorch.mjs";

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".test.js") ? [p] : [];
  });
}

const filters = process.argv.slice(2);
// Compiled tests whose TypeScript source was deleted must not run.
const hasSource = (f) => existsSync(join(repoRoot, relative(join(repoRoot, "dist"), f).replace(/\.js$/, ".ts")));
const files = walk(join(repoRoot, "dist", "test"))
  .filter(hasSource)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(repoRoot, f).includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(" ") || "(all)"}`);
  process.exit(1);
}
const res = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  env: envWithTcmalloc(),
  cwd: repoRoot,
});
process.exit(res.status ?? 1);
