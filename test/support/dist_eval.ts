/**
 * One rank of the distributed evaluation tests: `node dist_eval.js <config.json>` builds the run of the config
 * (untrained networks, seeded by train.seed), evaluates it once and prints `RESULT <EvalResult without seconds>`.
 * Under the torchrun environment of more than one process it joins the group, so the validation batches are strided
 * over the ranks and merged; without it (or with world 1) it is the one-process reference.
 */
import { readFileSync } from "node:fs";
import { validateRun } from "../../src/config/load.js";
import { distEnvFrom } from "../../src/dist/env.js";
import { ProcessGroup } from "../../src/dist/group.js";
import { setNumThreads } from "../../src/engine/index.js";
import { buildRun } from "../../src/train/build.js";
import { evaluateRun } from "../../src/train/trainer.js";

setNumThreads(1);
const configPath = process.argv[2]!;
const cfg = validateRun(JSON.parse(readFileSync(configPath, "utf8")), configPath);
const env = distEnvFrom();
const group = env && env.world > 1 ? ProcessGroup.init(env, { timeoutS: 60 }) : undefined;
const run = await buildRun(cfg, { group });
// Wall time is the one field that may differ between the runs.
const { seconds: _seconds, ...result } = await evaluateRun(run);
console.log(`RESULT ${JSON.stringify(result)}`);
run.dispose();
group?.shutdown();
