// `tasksr metrics ...` end to end through the launcher (bin/tasksr.js), on the shared fixtures.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readImage, writeImage } from "../../src/data/io/image.js";
import { imresizeMatlab } from "../../src/data/resize/matlab.js";
import { FIXTURES, REPO, SHARED_DATA } from "../support/paths.js";

const DET = join(SHARED_DATA, "detection-metric-fixtures", "review_object_detection_metrics", "tests");
const SR_BENCH = join(SHARED_DATA, "sr-bench-set5-set14");
const TMP = mkdtempSync(join(tmpdir(), "tasksr-metrics-cli-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

function tasksr(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO, "bin", "tasksr.js"), ...args], { encoding: "utf8", cwd: REPO });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The fixture of tools/fixtures/coco_lenient_cases.py (pycocotools' numbers on input it reads leniently). */
const LENIENT = JSON.parse(readFileSync(join(FIXTURES, "metrics", "coco_lenient_cases.json"), "utf8")) as {
  shared: { insert_every: number; unknown_detections: unknown[]; stats: number[] };
  cases: { name: string; gt: unknown; dets: unknown[]; stats: number[] }[];
};
const COCO_GT = join(DET, "test_coco_eval", "gts", "sampled_gts_bbox_area.json");
const COCO_DT = join(DET, "test_coco_eval", "cocoapi_results.json");

function assertStats(stdout: string, want: number[]): Record<string, number> {
  const stats = JSON.parse(stdout) as Record<string, number>;
  const got = Object.values(stats);
  assert.equal(got.length, want.length);
  // 1e-12 as test/metrics/coco.test.ts (measured: bit-identical).
  for (const [i, w] of want.entries()) assert.ok(Math.abs(got[i]! - w) <= 1e-12, `${Object.keys(stats)[i]}: ${got[i]}`);
  return stats;
}

test("metrics coco --json prints the 12 numbers of official pycocotools", () => {
  const r = tasksr("metrics", "coco", "--gt", COCO_GT, "--dt", COCO_DT, "--json");
  assert.equal(r.status, 0, r.stderr);
  const stats = JSON.parse(r.stdout) as Record<string, number>;
  const want: Record<string, number> = {
    AP: 0.503647,
    AP50: 0.696973,
    AP75: 0.571667,
    APs: 0.593252,
    APm: 0.557991,
    APl: 0.489363,
    AR1: 0.386813,
    AR10: 0.59368,
    AR100: 0.595353,
    ARs: 0.654764,
    ARm: 0.60313,
    ARl: 0.553744,
  };
  assert.deepEqual(Object.keys(stats), Object.keys(want));
  for (const [k, v] of Object.entries(want))
    assert.ok(Math.abs(stats[k]! - v) <= 5e-7 + 1e-12, `${k}: ${stats[k]} vs ${v}`);
});

test("metrics coco: detections of unknown categories give pycocotools' numbers and one warning line", () => {
  const results = JSON.parse(readFileSync(COCO_DT, "utf8")) as unknown[];
  const { insert_every: every, unknown_detections: unknown } = LENIENT.shared;
  const dt = join(TMP, "unknown-categories.json");
  writeFileSync(dt, JSON.stringify(results.flatMap((d, i) => (i % every === 0 ? [unknown[i / every], d] : [d]))));
  const r = tasksr("metrics", "coco", "--gt", COCO_GT, "--dt", dt, "--json");
  assert.equal(r.status, 0, r.stderr);
  const stats = assertStats(r.stdout, LENIENT.shared.stats);
  const clean = tasksr("metrics", "coco", "--gt", COCO_GT, "--dt", COCO_DT, "--json");
  assert.equal(clean.status, 0, clean.stderr);
  assert.equal(clean.stderr, "");
  assert.deepEqual(stats, JSON.parse(clean.stdout), "the same numbers as the results without those detections");
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, r.stderr);
  assert.equal(
    lines[0],
    `tasksr: warning: ${dt}: ${unknown.length} detection(s) with a category_id that is not a category of ${COCO_GT} ` +
      "not evaluated, as pycocotools does (--strict refuses them)",
  );

  const strict = tasksr("metrics", "coco", "--gt", COCO_GT, "--dt", dt, "--json", "--strict");
  assert.equal(strict.status, 2);
  assert.equal(strict.stdout, "");
  assert.match(
    strict.stderr,
    /unknown-categories\.json: \[0\]\.category_id: expected a category id of the ground truth .* got 12 \[E_BAD_FILE/,
  );
});

test("metrics coco: annotations on unlisted images and categories, one warning line per kind", () => {
  const c = LENIENT.cases.find((x) => x.name.startsWith("annotations on unlisted images"))!;
  const gt = join(TMP, "unlisted-gt.json");
  const dt = join(TMP, "unlisted-dt.json");
  writeFileSync(gt, JSON.stringify(c.gt));
  writeFileSync(dt, JSON.stringify(c.dets));
  const r = tasksr("metrics", "coco", "--gt", gt, "--dt", dt, "--json");
  assert.equal(r.status, 0, r.stderr);
  assertStats(r.stdout, c.stats);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 3, r.stderr);
  assert.match(lines[0]!, /unlisted-dt\.json: 24 detection\(s\) with a category_id that is not a category of/);
  assert.match(lines[1]!, /unlisted-gt\.json: 8 annotation\(s\) with an image_id not in images not evaluated/);
  assert.match(lines[2]!, /unlisted-gt\.json: 12 annotation\(s\) with a category_id not in categories/);
  const strict = tasksr("metrics", "coco", "--gt", gt, "--dt", dt, "--strict");
  assert.equal(strict.status, 2);
  assert.match(strict.stderr, /unlisted-gt\.json: annotations\[\d+\]\.(image|category)_id: expected .*\[E_BAD_FILE/);
});

test("metrics coco: malformed JSON fails with exit 2 naming the file", () => {
  const broken = join(TMP, "broken.json");
  writeFileSync(broken, "[{");
  const s = tasksr("metrics", "coco", "--gt", broken, "--dt", COCO_DT);
  assert.equal(s.status, 2);
  assert.match(s.stderr, /broken\.json: not valid JSON \(COCO ground truth\).*\[E_BAD_FILE/);
});

test("metrics voc --json on the fixture as VOC XML + devkit results gives the expected all-point AP", () => {
  const ann = join(TMP, "Annotations");
  mkdirSync(ann, { recursive: true });
  const rows = (dir: string, f: string) =>
    readFileSync(join(DET, "test_case_1", dir, f), "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => l.trim().split(/\s+/).slice(1).map(Number));
  const results: string[] = [];
  for (const f of readdirSync(join(DET, "test_case_1", "gts"))) {
    const id = f.replace(/\.txt$/, "");
    const objects = rows("gts", f).map(
      ([x, y, w, h]) =>
        `<object><name>person</name><bndbox><xmin>${x}</xmin><ymin>${y}</ymin><xmax>${x! + w!}</xmax><ymax>${y! + h!}</ymax></bndbox></object>`,
    );
    writeFileSync(join(ann, `${id}.xml`), `<annotation>${objects.join("")}</annotation>`);
    for (const [s, x, y, w, h] of rows("dets", f)) results.push(`${id} ${s} ${x} ${y} ${x! + w!} ${y! + h!}`);
  }
  const dt = join(TMP, "comp4_det_test_person.txt");
  writeFileSync(dt, results.join("\n"));
  const r = tasksr("metrics", "voc", "--gt", ann, "--dt", dt, "--iou", "0.3", "--metric", "area", "--json");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { map: number; classes: { className: string; ap: number }[] };
  assert.equal(out.classes[0]!.className, "person");
  assert.ok(Math.abs(out.map - 0.2456866804) <= 1e-9, `${out.map}`);
});

test("metrics psnr --protocol basicsr --ssim on Set5 x3 SR files (HR not cut to a multiple of 3)", async () => {
  const sr = join(TMP, "sr-x3");
  mkdirSync(sr, { recursive: true });
  for (const f of readdirSync(join(SR_BENCH, "Set5", "HR"))) {
    const name = f.replace(/\.png$/, "");
    const lr = await readImage(join(SR_BENCH, "Set5", "LR_bicubic", "X3", `${name}x3.png`), { channels: "keep" });
    await writeImage(join(sr, `${name}.png`), imresizeMatlab(lr, 3));
  }
  const r = tasksr(
    "metrics",
    "psnr",
    "--protocol",
    "basicsr",
    "--scale",
    "3",
    "--ssim",
    "--json",
    sr,
    join(SR_BENCH, "Set5", "HR"),
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    images: { name: string; psnr: number; ssim: number; hrCropped: boolean }[];
    psnr: { psnr: number };
    ssim: { ssim: number };
  };
  const ref = JSON.parse(readFileSync(join(SR_BENCH, "bicubic_psnr_reference.json"), "utf8")) as {
    results: Record<string, { per_image: Record<string, { psnr_y: number }> }>;
  };
  assert.equal(out.images.length, 5);
  assert.ok(out.images.some((i) => i.hrCropped));
  for (const img of out.images) {
    const want = ref.results.Set5_x3!.per_image[img.name]!.psnr_y;
    assert.ok(Math.abs(img.psnr - want) <= 5.1e-5, `${img.name}: ${img.psnr} vs ${want}`);
  }
  assert.ok(Math.abs(out.psnr.psnr - 30.4033) <= 5.1e-5);
  const bad = tasksr("metrics", "psnr", "--protocol", "basicsr", "--scale", "2", sr, join(SR_BENCH, "Set5", "HR"));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /sizes must match.*\[E_BAD_FILE/);
});
