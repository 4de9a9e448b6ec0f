// The in-browser page in a real browser: Debian's Chromium driven by playwright-core (the system executable, nothing
// downloaded). A site is built from tiny runs trained in the test; the page runs a sample in its Web Worker with
// onnxruntime-web, and the SR tensor and the task output it hands back are compared with onnxruntime-node on the
// same files (≤ 1e-3) and with the engine's own pipeline (same class); cancel stops a many-tile run; the
// EDSR-baseline ×4 64→256 time in this Chromium is printed. The test's screenshot is docs/web-page.png.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { readImage, writeImage } from "../../src/data/io/image.js";
import { manualSeed, noGrad, scope, type Tensor, tensor } from "../../src/engine/index.js";
import { planFromRun } from "../../src/eval/plan.js";
import { exportOnnx } from "../../src/export/onnx.js";
import { writeFileAtomic } from "../../src/fs/atomic.js";
import { onnxRuntime } from "../../src/infer/ort.js";
import { loadSr } from "../../src/infer/sources.js";
import { buildArch } from "../../src/models/index.js";
import type { SegmenterOutput } from "../../src/models/types.js";
import type { Module } from "../../src/nn/module.js";
import { serveWeb, type WebServer } from "../../src/web/serve.js";
import { buildSite } from "../../src/web/site.js";
import { pattern } from "../support/data_trees.js";
import { tinyConfig, trainTiny } from "../support/tiny_runs.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (scripts/setup.sh installs it)`;

const TMP = mkdtempSync(join(tmpdir(), "tasksr-web-"));
const DATA = join(TMP, "web");
let run: string;
let server: WebServer | undefined;
type Page = import("playwright-core").Page;
type Browser = import("playwright-core").Browser;
let browser: Browser | undefined;
let page: Page;

interface Column {
  name: string;
  sr: number[];
  width: number;
  height: number;
  output: number[];
}

before(async () => {
  if (skip) return;
  // A residual SR net starts at bicubic, so one training step still gives an image worth a screenshot.
  const cfg = tinyConfig("w_SR4IR", "sr4ir");
  cfg.sr = { arch: "edsr-tiny", options: { residual: true } };
  run = trainTiny(TMP, cfg);
  await buildSite({
    columns: [
      { name: "bicubic", label: "bicubic", source: { sr: "bicubic", scale: 4 } },
      { name: "task-driven", label: "SR4IR", source: { run } },
    ],
    taskRun: run,
    out: DATA,
    samples: 2,
  });
  manualSeed(0);
  const edsr = buildArch("edsr-baseline", { scale: 4 }) as unknown as Module<[Tensor], Tensor>;
  edsr.eval();
  const { bytes } = exportOnnx((x) => edsr.call(x), { output: "sr", sampleSize: [16, 16] });
  writeFileAtomic(join(DATA, "edsr-baseline-x4.onnx"), Buffer.from(bytes));
  edsr.dispose();
  server = await serveWeb({ data: DATA });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Root needs --no-sandbox; the rest keeps Chromium off the (closed) network.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
  await page.goto(server.url);
  await page.evaluate(() => (globalThis as unknown as { __tasksr: { ready: Promise<unknown> } }).__tasksr.ready);
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(TMP, { recursive: true, force: true });
});

test(
  "web page: the SR tensors and task outputs equal onnxruntime-node's, and the engine's class",
  { skip },
  async () => {
    const columns = (await page.evaluate(async () => {
      const api = (globalThis as unknown as { __tasksr: { runSample(i: number): Promise<unknown[] | null> } }).__tasksr;
      const cols = (await api.runSample(0)) as { name: string; sr: Float32Array; output: Float32Array }[];
      return cols.map((c) => ({ ...c, sr: Array.from(c.sr), output: Array.from(c.output) }));
    })) as Column[];
    assert.deepEqual(
      columns.map((c) => c.name),
      ["bicubic", "task-driven"],
    );
    const manifest = JSON.parse(readFileSync(join(DATA, "manifest.json"), "utf8")) as { samples: { url: string }[] };
    const lr = await readImage(join(DATA, manifest.samples[0]!.url.replace(/^data\//, "")));
    const planar = new Float32Array(3 * lr.width * lr.height);
    for (let i = 0; i < lr.width * lr.height; i++)
      for (let c = 0; c < 3; c++) planar[c * lr.width * lr.height + i] = lr.data[i * 3 + c]! / 255;
    const ort = await onnxRuntime();
    const task = await ort.InferenceSession.create(join(DATA, "task.onnx"));
    const plan = await planFromRun(run, { device: "cpu", limit: 1 });
    const taskNet = plan.task.adapter.net as unknown as Module<[Tensor], Tensor>;
    try {
      for (const c of columns) {
        const sr = await ort.InferenceSession.create(join(DATA, `${c.name}.onnx`));
        const x = new ort.Tensor("float32", planar, [1, 3, lr.height, lr.width]);
        const y = (await sr.run({ lr: x })).sr!;
        assert.deepEqual([c.height, c.width], y.dims.slice(2));
        const ys = y.data as Float32Array;
        let d = 0;
        for (let i = 0; i < ys.length; i++) d = Math.max(d, Math.abs(ys[i]! - c.sr[i]!));
        assert.ok(d <= 1e-3, `${c.name}: browser SR differs from onnxruntime-node by ${d}`);
        const logits = (await task.run({ lr: y })).logits!.data as Float32Array;
        for (let i = 0; i < logits.length; i++) {
          assert.ok(
            Math.abs(logits[i]! - c.output[i]!) <= 1e-3,
            `${c.name}: logit ${i} ${c.output[i]} vs ${logits[i]}`,
          );
        }
        // The engine's pipeline: the same SR source, then the run's task network, on the same LR pixels.
        const front = c.name === "bicubic" ? loadSr("bicubic", { scale: 4 }) : loadSr(run);
        const engine = noGrad(() =>
          scope(() =>
            taskNet.call(front.net.call(tensor(planar, { shape: [1, 3, lr.height, lr.width] }))).data<"float32">(),
          ),
        );
        front.net.dispose();
        const argmax = (v: ArrayLike<number>) => Array.from(v).indexOf(Math.max(...Array.from(v)));
        assert.equal(argmax(c.output), argmax(engine), `${c.name}: the page's class differs from the engine's`);
        await sr.release();
      }
    } finally {
      plan.dispose();
      await task.release();
    }
    const shot = process.env.TASKSR_SCREENSHOT ?? join(TMP, "web-page.png");
    await page.screenshot({ path: shot });
    assert.ok(readFileSync(shot).length > 1000);
  },
);

test("web page: cancel stops a many-tile run between tiles", { skip }, async () => {
  const r = (await page.evaluate(async () => {
    const api = (
      globalThis as unknown as {
        __tasksr: {
          runSample(i: number, o: { tile: number }): Promise<unknown[] | null>;
          cancel(): void;
          progress?: { done: number; total: number };
        };
      }
    ).__tasksr;
    api.progress = undefined;
    const pending = api.runSample(1, { tile: 1 }); // 8 × 8 LR: 64 tiles per column
    while (api.progress === undefined) await new Promise((res) => setTimeout(res, 1));
    api.cancel();
    const out = await pending;
    return {
      out,
      progress: api.progress,
      status: (
        globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }
      ).document.getElementById("status").textContent,
    };
  })) as { out: unknown; progress: { done: number; total: number }; status: string };
  assert.equal(r.out, null, "a cancelled run returns no result");
  assert.equal(r.status, "cancelled");
  assert.ok(
    r.progress.done < r.progress.total,
    `cancel came after the last tile (${r.progress.done}/${r.progress.total})`,
  );
});

test("web page: EDSR-baseline ×4 64→256 in this Chromium", { skip }, async () => {
  const r = (await page.evaluate(async () => {
    const api = (
      globalThis as unknown as { __tasksr: { bench(u: string, h: number, w: number, n: number): Promise<unknown> } }
    ).__tasksr;
    return api.bench("data/edsr-baseline-x4.onnx", 64, 64, 5);
  })) as { ms: number[]; backend: string };
  const sorted = [...r.ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(
    `EDSR-baseline x4 64→256 in Chromium (${r.backend}): median ${median.toFixed(0)} ms of ${r.ms.length} runs`,
  );
  assert.ok(Number.isFinite(median) && median > 0);
});

test(
  "web page, segmentation: the masks equal onnxruntime-node's and the overlay lists the classes found",
  { skip },
  async () => {
    // A hand-made site: bicubic ×2 and a random DeepLabV3 (light), with its own manifest.
    const seg = join(TMP, "seg");
    mkdirSync(join(seg, "samples"), { recursive: true });
    manualSeed(5);
    const net = buildArch("deeplabv3-mobilenetv3-light", { numClasses: 3 }) as unknown as Module<
      [Tensor],
      SegmenterOutput
    >;
    net.eval();
    const bic = buildArch("bicubic", { scale: 2 }) as unknown as Module<[Tensor], Tensor>;
    writeFileAtomic(join(seg, "bicubic.onnx"), Buffer.from(exportOnnx((x) => bic.call(x), { output: "sr" }).bytes));
    const task = exportOnnx((x) => net.call(x).out, { output: "masks" }).bytes;
    writeFileAtomic(join(seg, "task.onnx"), Buffer.from(task));
    const img = pattern(24, 20, 3);
    await writeImage(join(seg, "samples", "0.png"), img);
    const manifest = {
      task: "segmentation",
      classes: ["background", "left", "right"],
      scale: 2,
      columns: [{ name: "bicubic", label: "bicubic", url: "data/bicubic.onnx" }],
      taskModel: "data/task.onnx",
      samples: [{ url: "data/samples/0.png", label: "pattern" }],
    };
    writeFileAtomic(join(seg, "manifest.json"), JSON.stringify(manifest));
    const segServer = await serveWeb({ data: seg });
    const p = await browser!.newPage();
    try {
      await p.goto(segServer.url);
      await p.evaluate(() => (globalThis as unknown as { __tasksr: { ready: Promise<unknown> } }).__tasksr.ready);
      const got = (await p.evaluate(async () => {
        const api = (globalThis as unknown as { __tasksr: { runSample(i: number): Promise<unknown[] | null> } })
          .__tasksr;
        const cols = (await api.runSample(0)) as { sr: Float32Array; output: Float32Array; outputDims: number[] }[];
        const answer = (
          globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }
        ).document.querySelector("#grid figure:last-child .answer").textContent;
        return { sr: Array.from(cols[0]!.sr), masks: Array.from(cols[0]!.output), dims: cols[0]!.outputDims, answer };
      })) as { sr: number[]; masks: number[]; dims: number[]; answer: string };
      assert.deepEqual(got.dims, [3, 40, 48]);
      const ort = await onnxRuntime();
      const session = await ort.InferenceSession.create(task);
      const expected = (await session.run({ lr: new ort.Tensor("float32", Float32Array.from(got.sr), [1, 3, 40, 48]) }))
        .masks!.data as Float32Array;
      let d = 0;
      for (let i = 0; i < expected.length; i++) d = Math.max(d, Math.abs(expected[i]! - got.masks[i]!));
      assert.ok(d <= 1e-3, `browser masks differ from onnxruntime-node by ${d}`);
      await session.release();
      // The caption names the non-background classes the argmax mask covers, with their share of the image.
      const found = new Set<number>();
      for (let i = 0; i < 40 * 48; i++) {
        let best = 0;
        for (let k = 1; k < 3; k++) if (got.masks[k * 40 * 48 + i]! > got.masks[best * 40 * 48 + i]!) best = k;
        found.add(best);
      }
      for (const k of [1, 2]) assert.equal(got.answer.includes(manifest.classes[k]!), found.has(k), got.answer);
    } finally {
      await p.close();
      await segServer.close();
      net.dispose();
      bic.dispose();
    }
  },
);
