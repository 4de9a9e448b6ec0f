// `tasksr metrics ...` end to end through the launcher (bin/tasksr.js), on the shared fixtures.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readImage, writeImage } from "../../src/data/io/image.js";
import { imresizeMatlab } from "../../src/data/resize/matlab.js";
import { REPO, SHARED_DATA } from "../support/paths.js";

const DET = join(SHARED_DATA, "detection-metric-fixtures", "review_object_detection_metrics", "tests");
const SR_BENCH = join(SHARED_DATA, "sr-bench-set5-set14");
const TMP = mkdtempSync(join(tmpdir(), "tasksr-metrics-cli-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

function tasksr(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO, "bin", "tasksr.js"), ...args], { encoding: "utf8", cwd: REPO });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("metrics coco --json prints the 12 numbers of official pycocotools", () => {
  const gt = join(DET, "test_coco_eval", "gts", "sampled_gts_bbox_area.json");
  const r = tasksr(
    "metrics",
    "coco",
    "--gt",
    gt,
    "--dt",
    join(DET, "test_coco_eval", "cocoapi_results.json"),
    "--json",
  );
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

test("metrics coco: an unknown category id or malformed JSON fails with exit 2 naming file and field", () => {
  const gt = join(DET, "test_coco_eval", "gts", "sampled_gts_bbox_area.json");
  const dt = join(TMP, "bad-category.json");
  writeFileSync(dt, JSON.stringify([{ image_id: 42, category_id: 1000, bbox: [1, 2, 3, 4], score: 0.5 }]));
  const r = tasksr("metrics", "coco", "--gt", gt, "--dt", dt);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /bad-category\.json: \[0\]\.category_id: expected a category id of the ground truth .* got 1000 \[E_BAD_FILE/,
  );
  const broken = join(TMP, "broken.json");
  writeFileSync(broken, "[{");
  const s = tasksr("metrics", "coco", "--gt", broken, "--dt", dt);
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
