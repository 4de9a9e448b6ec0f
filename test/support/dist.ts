/** Starting the ranks of a distributed test (compiled worker scripts under dist/test/support/). */
import { fileURLToPath } from "node:url";
import { type LaunchResult, launchLocal } from "../../src/dist/launch.js";
import { N } from "../../src/engine/native.js";

/** Why distributed tests skip here (a build without c10d/Gloo), or false. */
export const noDist: string | false = N.distAvailable() ? false : "the native engine was built without c10d/Gloo";

/** Runs `node <support script> ...args` as `world` ranks (one thread each) and collects their output. */
export function runRanks(
  script: string,
  args: readonly string[],
  world: number,
  env: NodeJS.ProcessEnv = {},
  killOnFailure = true,
): Promise<LaunchResult> {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  return launchLocal({
    nproc: world,
    args: [path, ...args],
    env: { ...process.env, ...env },
    threads: 1,
    stdio: "pipe",
    killOnFailure,
  });
}

/** The `RESULT <json>` line of a rank's output. */
export function resultOf<T = Record<string, unknown>>(r: LaunchResult, rank: number): T {
  const w = r.workers[rank]!;
  const line = w.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) throw new Error(`rank ${rank} printed no result:\n${w.stdout}\n${w.stderr}`);
  return JSON.parse(line.slice(7)) as T;
}
