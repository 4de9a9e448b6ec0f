#!/usr/bin/env node
// HR/LR difficulty gap of the synthetic datasets: trains H→T and L→T with configs/synthetic/<task>_{h2t,l2t}_x4.yaml
// through the real trainer and prints the validation metric of each (H→T evaluated on HR, L→T on its upsampled LR).
//
//   node tools/bench/synthetic_gap.mjs [--tasks classification,segmentation] [--out runs/synthetic-gap] [--json]
//                                      [--threads n] [--set key=value]...
//
// The datasets are generated (or reused) with the generator defaults into .cache/synthetic/<task>, where the configs'
// relative roots point. `--set` overrides apply to every config (e.g. --set train.epochs=1 for a smoke run). Times
// are wall clock and this process's CPU time (user + sys, all threads), which stays meaningful on a busy machine.
// On a machine shared with other jobs, --threads 1 is much faster than more threads (they spin waiting on each other).
// Needs `npm run build:ts` (or `bash scripts/setup.sh`) first.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dist = (p) => import(join(ROOT, "dist", "src", p));
const { ensureSynthetic } = await dist("data/synthetic/index.js");
const { loadRunConfig } = await dist("config/load.js");
const { trainRun } = await dist("train/run.js");
const { getNumThreads, setNumThreads } = await dist("engine/system.js");

const { values: args } = parseArgs({
  options: {
    tasks: { type: "string", default: "classification,segmentation" },
    out: { type: "string", default: join(ROOT, "runs", "synthetic-gap") },
    set: { type: "string", multiple: true, default: [] },
    json: { type: "boolean", default: false },
    threads: { type: "string" },
  },
});
if (args.threads !== undefined) setNumThreads(Number(args.threads));

const TASKS = {
  classification: { prefix: "cls", metric: "top1" },
  segmentation: { prefix: "seg", metric: "mIoU" },
};
const log = args.json ? () => {} : (s) => console.error(s);

const rows = [];
for (const task of args.tasks.split(",")) {
  const t = TASKS[task];
  if (t === undefined) throw new Error(`--tasks: unknown "${task}"; known: ${Object.keys(TASKS).join(", ")}`);
  const g0 = performance.now();
  const data = await ensureSynthetic(task, join(ROOT, ".cache", "synthetic", task));
  log(
    `${task}: ${data.reused ? "kept" : "generated"} ${data.root} (${((performance.now() - g0) / 1000).toFixed(1)} s)`,
  );
  for (const setting of ["h2t", "l2t"]) {
    const file = join(ROOT, "configs", "synthetic", `${t.prefix}_${setting}_x4.yaml`);
    const cfg = loadRunConfig(file, args.set);
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const r = await trainRun(cfg, { out: args.out, baseDir: dirname(file), log });
    const cpu = process.cpuUsage(cpu0);
    if (r.results === undefined) throw new Error(`${cfg.name} did not complete`);
    rows.push({
      task,
      setting: setting === "h2t" ? "H→T" : "L→T",
      config: `configs/synthetic/${t.prefix}_${setting}_x4.yaml`,
      metric: t.metric,
      value: r.results.final[t.metric],
      iterations: r.results.iterations,
      wall_s: (performance.now() - w0) / 1000,
      cpu_s: (cpu.user + cpu.system) / 1e6,
    });
  }
}

const gaps = Object.fromEntries(
  [...new Set(rows.map((r) => r.task))].map((task) => {
    const [h, l] = ["H→T", "L→T"].map((s) => rows.find((r) => r.task === task && r.setting === s).value);
    return [task, h - l];
  }),
);
if (args.json) {
  console.log(JSON.stringify({ threads: getNumThreads(), rows, gaps }));
} else {
  console.log(`threads ${getNumThreads()}`);
  console.log("| task | setting | config | val metric | iterations | wall s | CPU s |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.task} | ${r.setting} | ${r.config} | ${r.metric} ${r.value.toFixed(2)} | ${r.iterations} | ${r.wall_s.toFixed(0)} | ${r.cpu_s.toFixed(0)} |`,
    );
  }
  for (const [task, g] of Object.entries(gaps)) console.log(`${task}: H→T − L→T = ${g.toFixed(2)} points`);
}
