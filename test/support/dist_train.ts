/**
 * One rank of a distributed training job for the resume tests: `node dist_train.js <config.json> <out> [stopAfter]`
 * joins the group of the torchrun environment (a one-process run without it) and trains the config into <out>,
 * resuming from its latest checkpoint if any, stopping after `stopAfter` iterations when given.
 */
import { readFileSync } from "node:fs";
import { validateRun } from "../../src/config/load.js";
import { distEnvFrom } from "../../src/dist/env.js";
import { ProcessGroup } from "../../src/dist/group.js";
import { setNumThreads } from "../../src/engine/index.js";
import { trainRun } from "../../src/train/run.js";

setNumThreads(1);
const [configPath, out, stop] = process.argv.slice(2) as [string, string, string | undefined];
const cfg = validateRun(JSON.parse(readFileSync(configPath, "utf8")), configPath);
const env = distEnvFrom();
const group = env && env.world > 1 ? ProcessGroup.init(env, { timeoutS: 60 }) : undefined;
const r = await trainRun(cfg, {
  out,
  resume: "auto",
  group,
  stopAfterIters: stop === undefined ? undefined : Number(stop),
  log: (l) => console.log(l),
});
console.log(`RESULT ${JSON.stringify({ stopped: r.stopped, iterations: r.iterations })}`);
group?.shutdown();
