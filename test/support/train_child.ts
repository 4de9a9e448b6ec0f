/**
 * A training process for the resume test to kill: `node train_child.js <config.json> <out>` trains the config into
 * <out> (resuming from its latest checkpoint if any) and prints every log line.
 */
import { readFileSync } from "node:fs";
import { validateRun } from "../../src/config/load.js";
import { setNumThreads } from "../../src/engine/index.js";
import { trainRun } from "../../src/train/run.js";

// The same thread count as the parent test, so that both compute bit-identical results.
setNumThreads(1);
const [configPath, out] = process.argv.slice(2) as [string, string];
const cfg = validateRun(JSON.parse(readFileSync(configPath, "utf8")), configPath);
await trainRun(cfg, { out, resume: "auto", log: (l) => console.log(l) });
