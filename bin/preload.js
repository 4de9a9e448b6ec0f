// Allocator preloading shared by the `tasksr` launcher and the test runner.
// libtorch driven op by op from JavaScript fragments glibc's heap without bound (docs/engine.md); tcmalloc keeps
// RSS flat and is faster. LD_PRELOAD only takes effect when a process starts, so callers re-execute node.
import { existsSync } from "node:fs";

const CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
  "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
  "/usr/lib64/libtcmalloc_minimal.so.4",
  "/usr/lib/libtcmalloc_minimal.so.4",
];

/** Path of tcmalloc-minimal if installed, else undefined. */
export function tcmallocPath() {
  return CANDIDATES.find((p) => existsSync(p));
}

/** True when this process already runs under tcmalloc (or the user opted out with TASKSR_NO_TCMALLOC=1). */
export function preloadSettled(env = process.env) {
  return env.TASKSR_NO_TCMALLOC === "1" || (env.LD_PRELOAD ?? "").includes("tcmalloc") || !tcmallocPath();
}

/** A copy of env with tcmalloc prepended to LD_PRELOAD (unchanged when not installed or opted out). */
export function envWithTcmalloc(env = process.env) {
  if (preloadSettled(env)) return { ...env };
  const lib = tcmallocPath();
  return { ...env, LD_PRELOAD: env.LD_PRELOAD ? `${lib}:${env.LD_PRELOAD}` : lib };
}
