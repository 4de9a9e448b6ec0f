#!/usr/bin/env node
// COCO bbox evaluation speed: `tasksr metrics coco` against pycocotools on the same synthetic files.
//
//   node tools/bench/coco_eval_speed.mjs [--images 5000] [--dets 100] [--seed 1] [--out /tmp/tasksr-coco-bench]
//                                        [--pycocotools /path/to/cocoapi/PythonAPI]
//
// Writes <out>/gt.json (COCO-like: 80 categories, about 7 objects per image, 1% crowd, segmentation-like areas) and
// <out>/dt.json (exactly --dets detections per image: jittered copies of the ground truth and random boxes), both
// deterministic for a seed. Times each evaluator as a fresh process from reading the files to the 12 numbers (wall
// clock, and CPU time user + sys through /usr/bin/time when it exists, which stays meaningful on a busy machine), and
// checks that both give the same numbers. Needs `npm run build` first; pycocotools is timed only when given.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    images: { type: "string", default: "5000" },
    dets: { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
    out: { type: "string", default: "/tmp/tasksr-coco-bench" },
    pycocotools: { type: "string" },
  },
});
const IMAGES = Number(args.images);
const DETS = Number(args.dets);
const CATEGORIES = 80;

/** mulberry32: a small deterministic PRNG in [0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function synthesise(seed) {
  const r = rng(seed);
  const round2 = (v) => Math.round(v * 100) / 100;
  const box = (W, H) => {
    const w = 4 + r() ** 2 * (W * 0.7);
    const h = 4 + r() ** 2 * (H * 0.7);
    return [round2(r() * (W - w)), round2(r() * (H - h)), round2(w), round2(h)];
  };
  const images = [];
  const annotations = [];
  const detections = [];
  for (let id = 1; id <= IMAGES; id++) {
    const W = 640;
    const H = 480;
    images.push({ id, width: W, height: H, file_name: `${String(id).padStart(12, "0")}.jpg` });
    const cats = Array.from({ length: 1 + Math.floor(r() * 4) }, () => 1 + Math.floor(r() * CATEGORIES));
    const objects = [];
    for (let k = 0, n = 1 + Math.floor(r() * 14); k < n; k++) {
      const b = box(W, H);
      const o = { id: annotations.length + 1, image_id: id, category_id: cats[k % cats.length], bbox: b };
      o.area = round2(b[2] * b[3] * (0.4 + 0.6 * r()));
      o.iscrowd = r() < 0.01 ? 1 : 0;
      annotations.push(o);
      objects.push(o);
    }
    for (let d = 0; d < DETS; d++) {
      const g = objects[Math.floor(r() * objects.length)];
      const jittered = r() < 0.5;
      const b = jittered
        ? g.bbox.map((v, j) => round2(Math.max(1, v + (r() - 0.5) * (j < 2 ? 0.3 * g.bbox[j + 2] : 0.4 * v))))
        : box(W, H);
      const category_id = jittered || r() < 0.5 ? g.category_id : 1 + Math.floor(r() * CATEGORIES);
      detections.push({ image_id: id, category_id, bbox: b, score: Math.round(r() * 1000) / 1000 });
    }
  }
  const categories = Array.from({ length: CATEGORIES }, (_, i) => ({ id: i + 1, name: `class${i + 1}` }));
  return { gt: { images, annotations, categories }, detections };
}

const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

function timed(label, cmd, argv, env) {
  const cpuFile = join(args.out, "cpu.txt");
  const [exe, argvTimed] = TIME ? [TIME, ["-f", "%U %S", "-o", cpuFile, cmd, ...argv]] : [cmd, argv];
  const t0 = process.hrtime.bigint();
  const res = spawnSync(exe, argvTimed, { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (res.status !== 0) throw new Error(`${label} failed (${res.status}): ${res.stderr}`);
  let cpu = Number.NaN;
  if (TIME) {
    const [user, sys] = readFileSync(cpuFile, "utf8").trim().split(/\s+/).map(Number);
    cpu = user + sys;
    rmSync(cpuFile);
  }
  const lines = res.stdout.trim().split("\n");
  return { seconds, cpu, stats: JSON.parse(lines.slice(lines.findIndex((l) => l.startsWith("{"))).join("\n")) };
}

const report = (name, r) =>
  console.log(`${name}: wall ${r.seconds.toFixed(2)} s, cpu ${r.cpu.toFixed(2)} s   AP ${r.stats.AP}`);

const PYTHON = `
import contextlib, io, json, sys
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    e = COCOeval(gt, dt, "bbox"); e.evaluate(); e.accumulate(); e.summarize()
keys = ["AP","AP50","AP75","APs","APm","APl","AR1","AR10","AR100","ARs","ARm","ARl"]
print(json.dumps(dict(zip(keys, [float(v) for v in e.stats]))))
`;

mkdirSync(args.out, { recursive: true });
const { gt, detections } = synthesise(Number(args.seed));
const gtFile = join(args.out, "gt.json");
const dtFile = join(args.out, "dt.json");
writeFileSync(gtFile, JSON.stringify(gt));
writeFileSync(dtFile, JSON.stringify(detections));
console.log(
  `${IMAGES} images, ${gt.annotations.length} ground-truth boxes, ${detections.length} detections -> ${args.out}`,
);

const repo = new URL("../..", import.meta.url).pathname;
const ours = timed("tasksr", process.execPath, [
  join(repo, "bin", "tasksr.js"),
  "metrics",
  "coco",
  "--gt",
  gtFile,
  "--dt",
  dtFile,
  "--json",
]);
report("tasksr metrics coco  ", ours);
if (args.pycocotools) {
  const py = timed("pycocotools", "/usr/bin/python3", ["-c", PYTHON, gtFile, dtFile], { PYTHONPATH: args.pycocotools });
  report("pycocotools COCOeval", py);
  const worst = Math.max(...Object.keys(py.stats).map((k) => Math.abs(py.stats[k] - ours.stats[k])));
  const speedup = `wall x${(py.seconds / ours.seconds).toFixed(1)}, cpu x${(py.cpu / ours.cpu).toFixed(1)}`;
  console.log(`speed-up ${speedup}; largest difference of the 12 numbers: ${worst}`);
}
