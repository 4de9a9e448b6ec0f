// LPIPS v0.1 (AlexNet and VGG16) against a PyTorch LPIPS written after the lpips package (tools/fixtures/lpips_ref.py):
// distances and the input gradient, with the same hashed weights on both sides (the fixture stores none), and the
// weight files loaded by their torchvision / lpips keys.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { imagesToTensor } from "../../src/data/degrade/image_tensor.js";
import { writeImage } from "../../src/data/io/image.js";
import { noGrad, saveSafetensors, scope, tensor } from "../../src/engine/index.js";
import { Lpips, type LpipsNet } from "../../src/metrics/lpips.js";
import { readResults } from "../../src/train/run.js";
import { tasksr } from "../support/cli.js";
import { assertClose, fixture } from "../support/compare.js";
import { pattern } from "../support/data_trees.js";
import { FIXTURES } from "../support/paths.js";
import { tinyConfig, trainTiny } from "../support/tiny_runs.js";
import { tmpFile } from "../support/tmp.js";

const fx = fixture(join(FIXTURES, "metrics", "lpips.safetensors"));

const keySeed = (key: string) => {
  let h = 0;
  for (const ch of key) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return h;
};

/** tools/fixtures/lpips_ref.py's hashed_weights, element for element. */
function hashedWeights(net: Lpips): void {
  noGrad(() =>
    scope(() => {
      for (const [key, p] of net.namedParameters()) {
        const n = p.numel;
        const fanIn = n / p.shape[0]!;
        const seed = keySeed(key);
        const v = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const u = (((Math.imul(i, 2654435761 | 0) + seed) >>> 0) >>> 8) / 2 ** 24;
          v[i] = key.startsWith("lin") ? u / 10 : p.ndim === 1 ? (2 * u - 1) / 10 : (2 * u - 1) / Math.sqrt(fanIn);
        }
        p.copy_(tensor(v, { shape: p.shape }));
      }
    }),
  );
}

for (const net of ["alex", "vgg"] as LpipsNet[]) {
  test(`LPIPS ${net}: distances and input gradient equal the PyTorch reference`, () => {
    const m = new Lpips(net);
    hashedWeights(m);
    scope(() => {
      const a = fx.get("a").detach().requiresGrad_();
      const d = m.call(a, fx.get("b"));
      // Relative to the largest distance (~0.04); float32 sums over maps of up to 10^5 elements.
      assertClose(d, fx.get(`${net}.d`), 1e-5, `${net} distances`);
      d.sum().backward();
      assertClose(a.grad!, fx.get(`${net}.grad_a`), 1e-4, `${net} input gradient`);
    });
    m.dispose();
  });
}

test("LPIPS loads torchvision's backbone file and the lpips linear-layer file by key; wrong files are named", () => {
  const src = new Lpips("alex");
  hashedWeights(src);
  const sd = src.stateDict();
  const backbone = tmpFile("alexnet.safetensors");
  const lin = tmpFile("alex-lin.safetensors");
  // torchvision's alexnet file also holds the classifier, which LPIPS ignores.
  saveSafetensors(
    backbone,
    new Map([...[...sd].filter(([k]) => k.startsWith("features.")), ["classifier.1.weight", tensor([1, 2])]]),
  );
  saveSafetensors(lin, new Map([...sd].filter(([k]) => k.startsWith("lin"))));
  const m = new Lpips("alex").loadFiles(backbone, lin);
  scope(() => {
    const [a, b] = [fx.get("a"), fx.get("b")];
    assertClose(
      noGrad(() => m.call(a, b)),
      noGrad(() => src.call(a, b)),
      0,
      "same weights, same distances",
    );
  });
  assert.throws(
    () => new Lpips("vgg").loadFiles(backbone, lin),
    /has another shape than vgg's|not a torchvision vgg file/,
  );
  assert.throws(() => new Lpips("alex").loadFiles(lin, lin), /not a torchvision alex file/);
  for (const t of [src, m]) t.dispose();
});

test("tasksr metrics lpips: per-image and mean distances from the weight files; a missing file says what it needs", async () => {
  const src = new Lpips("alex");
  hashedWeights(src);
  const sd = src.stateDict();
  const backbone = tmpFile("cli-alexnet.safetensors");
  const lin = tmpFile("cli-alex-lin.safetensors");
  saveSafetensors(backbone, new Map([...sd].filter(([k]) => k.startsWith("features."))));
  saveSafetensors(lin, new Map([...sd].filter(([k]) => k.startsWith("lin"))));
  const [srImg, hrImg] = [pattern(70, 63, 3), pattern(70, 63, 8)];
  const [srFile, hrFile] = [tmpFile("lp-sr.png"), tmpFile("lp-hr.png")];
  await writeImage(srFile, srImg);
  await writeImage(hrFile, hrImg);
  const r = tasksr("metrics", "lpips", srFile, hrFile, "--backbone", backbone, "--lin", lin, "--net", "alex", "--json");
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { lpips: number; images: { lpips: number }[] };
  const expected = scope(() => noGrad(() => src.call(imagesToTensor([srImg]), imagesToTensor([hrImg])).item()));
  assert.ok(Math.abs(report.lpips - expected) <= 1e-6, `${report.lpips} vs ${expected}`);
  assert.ok(expected > 0);
  const missing = tasksr(
    "metrics",
    "lpips",
    srFile,
    hrFile,
    "--net",
    "alex",
    "--backbone",
    "/nope/alexnet.pth",
    "--lin",
    lin,
  );
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /--backbone \/nope\/alexnet.pth does not exist; LPIPS needs torchvision's alexnet/);
  src.dispose();
});

test("eval.lpips: training's final evaluation and tasksr eval report the same LPIPS; a missing file names the field", async () => {
  const src = new Lpips("alex");
  hashedWeights(src);
  const sd = src.stateDict();
  const dir = tmpFile("lpips-run");
  mkdirSync(dir, { recursive: true });
  saveSafetensors(join(dir, "alexnet.safetensors"), new Map([...sd].filter(([k]) => k.startsWith("features."))));
  saveSafetensors(join(dir, "lin.safetensors"), new Map([...sd].filter(([k]) => k.startsWith("lin"))));
  src.dispose();
  const cfg = tinyConfig("lp_SR4IR", "sr4ir");
  // LPIPS-alex needs 31 px after SR4IR's 8-px crop.
  (cfg.data as Record<string, unknown>).transforms = { resize: 48, crop: 48 };
  // Relative to the config's folder, like every path of a run config.
  (cfg.eval as Record<string, unknown>).lpips = {
    net: "alex",
    backbone: "alexnet.safetensors",
    lin: "lin.safetensors",
  };
  const run = trainTiny(dir, cfg);
  const final = readResults(run).final as Record<string, number>;
  assert.ok(final.lpips! > 0 && final.lpips! < 1, `final LPIPS ${final.lpips}`);
  const r = tasksr("eval", "--run", run, "--json");
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { metrics: Record<string, number> };
  assert.ok(Math.abs(report.metrics.lpips! - final.lpips!) <= 1e-6, `${report.metrics.lpips} vs ${final.lpips}`);
  (cfg.eval as Record<string, unknown>).lpips = { backbone: "missing.pth", lin: "lin.safetensors" };
  cfg.name = "lp_missing";
  writeFileSync(join(dir, "missing.yaml"), stringify(cfg));
  const bad = tasksr("train", "--config", join(dir, "missing.yaml"), "--out", join(dir, "runs"));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /eval\.lpips\.backbone: .*missing\.pth does not exist/);
});
