#!/usr/bin/env node
// Kill -9 check of resume: trains a tiny CPU run (the resume test's SR4IR config: shuffled prefetching loader, crops,
// LR noise, CQMix, TDP switching on after epoch 1, a checkpoint and an evaluation every epoch) with `tasksr train`,
// SIGKILLs it at --kills random points (seeded), resuming each time with --resume auto, then lets it finish and
// compares the run folder with an uninterrupted run's: every checkpoint, the final weights and config byte for byte,
// metrics.jsonl record for record (without throughput and resume/stop records), results.json but for its time; no
// temp or lock file may be left, and resuming the finished run must change nothing. Prints one summary line; exit
// status 1 on any difference.
//
// A kill point is a line of the uninterrupted run's output (an iteration or an evaluation) drawn at random, plus a
// delay drawn within the time that run took to its next line, so kills land everywhere: in steps, in evaluations, in
// checkpoint writes and in the writes of the final weights and results (after the last evaluation line).
//
// Usage: node scripts/kill-resume-check.mjs [--kills 20] [--seed 1] [--epochs 4] [--keep]   (after `npm run build`)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { envWithTcmalloc } from "../bin/preload.js";
import { repoRoot } from "./find-libtorch.mjs";

const { values: args } = parseArgs({
  options: {
    kills: { type: "string", default: "20" },
    seed: { type: "string", default: "1" },
    epochs: { type: "string", default: "4" },
    keep: { type: "boolean", default: false },
  },
});
const kills = Number(args.kills);
const seed = Number(args.seed);
const epochs = Number(args.epochs);
const support = join(repoRoot, "dist", "test", "support", "train_runs.js");
if (!existsSync(support)) {
  console.error("kill-resume-check: dist/ is missing; run `npm run build` (or npx tsc -p tsconfig.json) first");
  process.exit(1);
}
const { tinyConfig, writeClassTree } = await import(support);
const { configToYaml } = await import(join(repoRoot, "dist", "src", "config", "load.js"));

/** mulberry32: a small seeded generator, so that a failing seed can be replayed. */
function random(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const t0 = performance.now();
const work = mkdtempSync(join(tmpdir(), "tasksr-kill-"));
const data = await writeClassTree();
const cfg = tinyConfig(
  data,
  { name: "sr4ir", warmup: { length: 1 }, tdp: { taps: { l4: 1 } }, cqmix: { grid: 4 } },
  { name: "kill", degrade: { noise: { sigma: 5 } }, train: { epochs } },
);
const configPath = join(work, "kill.yaml");
writeFileSync(configPath, configToYaml(cfg));

/** The kill points of a run's output: its iteration and evaluation lines. */
function eventOf(line) {
  const it = /\] it (\d+)\//.exec(line);
  if (it) return `it ${it[1]}`;
  const ev = /^\[epoch (\d+)\/\d+\] eval /.exec(line);
  return ev ? `eval ${ev[1]}` : undefined;
}

/**
 * Runs `tasksr train` on the config into `out` (in its own process group, one process: tcmalloc is preloaded here so
 * the launcher does not re-execute). `onLine(line, ms)` sees each output line; it may return a delay after which the
 * process group is killed with SIGKILL. Resolves with the exit and the output.
 */
function train(out, onLine = () => undefined) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(
      process.execPath,
      [join(repoRoot, "bin", "tasksr.js"), "train", "--config", configPath, "--out", out, "--resume", "auto"],
      {
        cwd: work,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...envWithTcmalloc(), TASKSR_THREADS: "1" },
      },
    );
    let text = "";
    let stderr = "";
    let pending = "";
    let killing = false;
    child.stdout.on("data", (d) => {
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) {
        text += `${line}\n`;
        const delay = killing ? undefined : onLine(line, performance.now() - start);
        if (delay !== undefined) {
          killing = true;
          setTimeout(() => {
            try {
              process.kill(-child.pid, "SIGKILL");
            } catch {
              // The process finished within the delay.
            }
          }, delay);
        }
      }
    });
    child.stderr.on("data", (d) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal, text, stderr }));
  });
}

const failures = [];
const fail = (what) => failures.push(what);

// The uninterrupted run: its events and the time from each to the next line.
const refOut = join(work, "ref");
const times = [];
const ref = await train(refOut, (line, ms) => {
  times.push([eventOf(line), ms]);
});
if (ref.code !== 0) {
  console.error(`kill-resume-check: the uninterrupted run failed (exit ${ref.code}):\n${ref.stderr}`);
  process.exit(1);
}
const events = [];
for (const [i, [event, ms]] of times.entries()) {
  if (event !== undefined) events.push({ event, gap: (times[i + 1]?.[1] ?? ms) - ms });
}
const index = new Map(events.map((e, i) => [e.event, i]));

// N kill points in run order: an event and a delay within the time after it, log-uniform from 0.1 ms so that the
// first milliseconds after a line, where the checkpoint writes are, are hit as often as the steps that follow.
const rand = random(seed);
const logUniform = (max) => (max <= 0.1 ? rand() * max : 0.1 * (max / 0.1) ** rand());
const points = Array.from({ length: kills }, () => Math.floor(rand() * events.length))
  .sort((a, b) => a - b)
  .map((i) => ({ at: i, delay: logUniform(events[i].gap) }));

const runsOut = join(work, "runs");
let landed = 0;
let finishedEarly = false;
const outputs = [];
for (const p of points) {
  const r = await train(runsOut, (line) => {
    const i = index.get(eventOf(line));
    return i !== undefined && i >= p.at ? p.delay : undefined;
  });
  outputs.push(r.text);
  if (r.signal === "SIGKILL") landed++;
  else if (r.code === 0) {
    finishedEarly = true;
    break;
  } else fail(`a resumed run failed (exit ${r.code}): ${r.stderr.trim().split("\n").at(-1)}`);
}
const last = await train(runsOut);
outputs.push(last.text);
if (last.code !== 0) fail(`the final resume failed (exit ${last.code}): ${last.stderr.trim().split("\n").at(-1)}`);

const refDir = join(refOut, "kill");
const dir = join(runsOut, "kill");
const files = (d) =>
  readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(d.length + 1))
    .sort();
const snapshot = () => new Map(files(dir).map((f) => [f, readFileSync(join(dir, f))]));

// Resuming the finished run changes nothing.
const before = snapshot();
const again = await train(runsOut);
if (!again.text.includes("has finished: nothing to train"))
  fail("resuming the finished run did not say it had finished");
for (const [f, bytes] of snapshot()) {
  if (f !== "cmd.txt" && !before.get(f)?.equals(bytes)) fail(`resuming the finished run changed ${f}`);
}

const leftovers = files(dir).filter((f) => /\.tmp-\d+-[0-9a-f]+$/.test(f) || f.endsWith(".tasksr-lock"));
if (leftovers.length > 0) fail(`left in the run folder: ${leftovers.join(", ")}`);
const checkpoints = files(refDir).filter((f) => f.startsWith("checkpoints/"));
const same = (f) => existsSync(join(dir, f)) && readFileSync(join(refDir, f)).equals(readFileSync(join(dir, f)));
for (const f of [...checkpoints, "sr.safetensors", "task.safetensors", "config.resolved.yaml"]) {
  if (!same(f)) fail(`${f} differs from the uninterrupted run's`);
}
const extra = files(dir).filter((f) => f.startsWith("checkpoints/") && !checkpoints.includes(f));
if (extra.length > 0) fail(`extra checkpoints: ${extra.join(", ")}`);
const records = (d) =>
  readFileSync(join(d, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.type !== "resume" && r.type !== "stop")
    .map(({ imgPerSec: _, ...r }) => JSON.stringify(r));
const [want, got] = [records(refDir), records(dir)];
if (want.join("\n") !== got.join("\n"))
  fail(`metrics.jsonl: ${got.length} records differ from the uninterrupted run's ${want.length}`);
const results = (d) => {
  const { seconds: _, ...r } = JSON.parse(readFileSync(join(d, "results.json"), "utf8"));
  return JSON.stringify(r);
};
if (results(refDir) !== results(dir)) fail("results.json (but for seconds) differs from the uninterrupted run's");

const all = outputs.join("");
const removed = [...all.matchAll(/removed (\d+) temp file/g)].reduce((n, m) => n + Number(m[1]), 0);
const recreated = [...all.matchAll(/^recreated /gm)].length;
const seconds = ((performance.now() - t0) / 1000).toFixed(0);
const head =
  `kill-resume-check: ${landed} SIGKILLs (seed ${seed}${finishedEarly ? `; the run finished before kill ${landed + 1}` : ""}) ` +
  `over a ${epochs}-epoch SR4IR run, each resumed with --resume auto; ${removed} stale temp file(s) removed, ` +
  `${recreated} epoch snapshot(s) recreated`;
if (failures.length > 0) {
  console.log(`${head}; FAILED (${seconds} s, kept ${work}): ${failures.join("; ")}`);
  process.exit(1);
}
console.log(
  `${head}; ${checkpoints.length} checkpoints, final weights, metrics.jsonl (${got.length} records) and results.json ` +
    `identical to the uninterrupted run; no temp or lock file left; a finished run's resume changes nothing (${seconds} s)`,
);
if (!args.keep) for (const d of [work, data]) rmSync(d, { recursive: true, force: true });
