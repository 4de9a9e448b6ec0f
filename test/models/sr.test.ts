import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import * as F from "../../src/engine/functional.js";
import { noGrad, rand, scope, type Tensor } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { buildArch } from "../../src/models/index.js";
import { SrModule } from "../../src/models/sr/base.js";
import { Dbpn, dbpnCheckpointRemap } from "../../src/models/sr/dbpn.js";
import { Edsr } from "../../src/models/sr/edsr.js";
import { InterpolationUpsampler } from "../../src/models/sr/interpolate.js";
import type { Module } from "../../src/nn/module.js";
import { assertClose, fixture } from "../support/compare.js";
import { FIXTURES } from "../support/paths.js";
import { smokeTest } from "../support/smoke.js";

const fx = fixture(join(FIXTURES, "models", "sr.safetensors"));

/** Eval-mode output and the input gradient of the fixture's probe, both to 1e-4 relative. */
function checkParity(name: string, net: Module<[Tensor], Tensor>): void {
  net.eval();
  const x = fx.get("x");
  scope(() => {
    assertClose(
      noGrad(() => net.call(x)),
      fx.get(`${name}.y`),
      1e-4,
      `${name} output`,
    );
    const xg = x.detach().requiresGrad_();
    net
      .call(xg)
      .mul(fx.get(`${name}.probe`))
      .sum()
      .backward();
    assertClose(xg.grad!, fx.get(`${name}.gx`), 1e-4, `${name} input gradient`);
  });
}

for (const scale of [2, 3, 4, 8]) {
  test(`EDSR x${scale} (2 blocks × 8${scale === 3 ? ", res_scale 0.5" : ""}) matches SR4IR's EDSR: x=[1,3,6,5]`, () => {
    const net = new Edsr({ scale, numBlocks: 2, numFeatures: 8, resScale: scale === 3 ? 0.5 : 1 });
    net.loadStateDict(fx.sub(`edsr${scale}.sd.`));
    checkParity(`edsr${scale}`, net);
    net.dispose();
  });
}

for (const scale of [2, 4, 8]) {
  test(`D-DBPN x${scale} (16/4 features, T = 7) matches DBPN-Pytorch: x=[1,3,6,5]`, () => {
    const net = new Dbpn({ scale, features: 16, baseFilter: 4 });
    // The x2 reference is stored as the released checkpoints are: with DataParallel's "module." prefix.
    net.loadStateDict(fx.sub(`dbpn${scale}.sd.`), { remap: dbpnCheckpointRemap });
    checkParity(`dbpn${scale}`, net);
    net.dispose();
  });
}

test("D-DBPN with the bicubic residual matches DBPN-Pytorch's --residual", () => {
  const net = new Dbpn({ scale: 4, features: 16, baseFilter: 4, residual: true });
  net.loadStateDict(fx.sub("dbpn4.sd."));
  checkParity("dbpn4res", net);
  net.dispose();
});

test("bicubic (align_corners false) and bilinear (align_corners true) match SR4IR's fixed upsamplers", () => {
  checkParity("bicubic4", new InterpolationUpsampler(4, "bicubic"));
  checkParity("bilinear4", new InterpolationUpsampler(4, "bilinear"));
  assert.equal(buildArch("bicubic", { scale: 3 }).numParameters(), 0);
});

test("parameter counts equal the references': EDSR-baseline x4/x8, D-DBPN x4/x8", () => {
  const counts: [string, Record<string, unknown>, number, number][] = [
    ["edsr-baseline", { scale: 4 }, 1_517_571, 1_517_571 + 24],
    ["edsr-baseline", { scale: 8 }, 1_665_283, 1_665_283 + 24],
    ["dbpn", { scale: 4 }, 10_426_358, 10_426_358],
    ["dbpn", { scale: 8 }, 23_205_878, 23_205_878],
  ];
  for (const [name, o, trainable, total] of counts) {
    const net = buildArch(name, o, "sr");
    assert.equal(net.numParameters(true), trainable, `${name} ${JSON.stringify(o)} trainable`);
    assert.equal(net.numParameters(), total, `${name} ${JSON.stringify(o)} total`);
    net.dispose();
  }
});

test("EDSR keys are EDSR-PyTorch's (sub_mean, head.0, body.i.body.{0,2}, body.n, tail.0.{0,2,4}, tail.1)", () => {
  const net = new Edsr({ scale: 8, numBlocks: 2, numFeatures: 8 });
  assert.deepEqual([...net.stateDict().keys()].sort(), [...fx.sub("edsr8.sd.").keys()].sort());
  assert.ok(net.stateDict().has("tail.0.4.weight") && net.stateDict().has("body.2.weight"));
  net.dispose();
});

test("loading a renamed, a missing and a mis-shaped key reports each on a real network", () => {
  const net = new Edsr({ scale: 2, numBlocks: 2, numFeatures: 8 });
  const sd = new Map(fx.sub("edsr2.sd."));
  sd.set("head.0.weights", sd.get("head.0.weight")!);
  sd.delete("head.0.weight");
  sd.delete("body.1.body.2.bias");
  sd.set("tail.1.weight", fx.get("edsr4.sd.tail.0.0.weight")); // [32, 8, 3, 3] where [3, 8, 3, 3] belongs
  assert.throws(
    () => net.loadStateDict(sd),
    (e: unknown) =>
      e instanceof TasksrError &&
      e.code === "E_STATE_DICT" &&
      /missing keys: head\.0\.weight, body\.1\.body\.2\.bias/.test(e.message) &&
      /unexpected keys: head\.0\.weights/.test(e.message) &&
      /tail\.1\.weight \(module \[3, 8, 3, 3\], file \[32, 8, 3, 3\]\)/.test(e.message),
  );
  const report = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(report.missing, ["head.0.weight", "body.1.body.2.bias"]);
  assert.deepEqual(report.unexpected, ["head.0.weights"]);
  assert.deepEqual(report.mismatched, [{ key: "tail.1.weight", expected: [3, 8, 3, 3], got: [32, 8, 3, 3] }]);
  net.dispose();
});

/** Nearest ×2 upsampling that only accepts sizes divisible by 8, to observe the padding helper from outside. */
class NeedsMultipleOf8 extends SrModule {
  protected upscale(x: Tensor): Tensor {
    assert.ok(x.size(2) % 8 === 0 && x.size(3) % 8 === 0, `unpadded input [${x.shape}]`);
    return F.interpolate(x, { scaleFactor: 2, mode: "nearest" });
  }
}

test("inputs that are not a multiple of sizeMultiple are padded, run and cropped back: x=[2,3,13,7] x2", () => {
  const x = rand([2, 3, 13, 7]);
  for (const padMode of ["replicate", "reflect"] as const) {
    const net = new NeedsMultipleOf8(2, { sizeMultiple: 8, padMode });
    scope(() => {
      const y = net.call(x);
      assert.deepEqual(y.shape, [2, 3, 26, 14]);
      assert.ok(y.equal(F.interpolate(x, { scaleFactor: 2, mode: "nearest" })), padMode);
    });
  }
  // Reflect padding needs pad < size; a 3×3 input padded to 8 falls back to replicate instead of failing.
  scope(() => {
    const tiny = new NeedsMultipleOf8(2, { sizeMultiple: 8, padMode: "reflect" }).call(rand([1, 3, 3, 3]));
    assert.deepEqual(tiny.shape, [1, 3, 6, 6]);
  });
  x.dispose();
  // The real networks accept any size; padding them changes only the border, never the output size.
  const edsr = new Edsr({ scale: 3, numBlocks: 1, numFeatures: 8, sizeMultiple: 4 });
  scope(() => assert.deepEqual(edsr.call(rand([1, 3, 5, 6])).shape, [1, 3, 15, 18]));
  edsr.dispose();
  assert.throws(() => new Edsr({ scale: 5 }), /scale must be 2, 3, 4 or 8/);
  assert.throws(() => new Dbpn({ scale: 3 }), /scale must be 2, 4 or 8/);
});

test("registry: SR presets build by name; options are validated", () => {
  const tiny = buildArch("edsr-tiny", { scale: 2 }, "sr") as Edsr;
  assert.equal(tiny.body.length, 5);
  assert.equal(tiny.scale, 2);
  tiny.dispose();
  assert.throws(() => buildArch("edsr-baseline", { scale: 5 }), /options of "edsr-baseline": scale/);
  assert.throws(() => buildArch("edsr-baseline", { blocks: 3 }), /unrecognized key/i);
  // D-DBPN's projection units exist for 2, 4 and 8 only; the error says so instead of zod's bare "Invalid input".
  for (const name of ["dbpn", "dbpn-tiny"]) {
    assert.throws(
      () => buildArch(name, { scale: 3 }, "sr"),
      (e: unknown) =>
        e instanceof TasksrError &&
        e.code === "E_CONFIG" &&
        e.message.startsWith(`options of "${name}": scale: ${name} upscales by 2, 4 or 8 only`) &&
        /got 3 \[/.test(e.message),
    );
  }
  assert.throws(() => buildArch("nope", {}, "sr"), /unknown sr "nope"; known: bicubic, bilinear, dbpn/);
});

for (const [name, shape] of [
  ["edsr-tiny", [2, 3, 8, 6]],
  ["dbpn-tiny", [2, 3, 6, 5]],
  ["bicubic", [2, 3, 5, 4]],
] as const) {
  test(`smoke: ${name} forward, backward, Adam step, safetensors round trip, no leaks: x=[${shape}]`, () => {
    smokeTest(() => buildArch(name, { scale: 2 }, "sr") as Module<[Tensor], Tensor>, [...shape]);
  });
}

test("EDSR residual: starts exactly at bicubic x=[2,3,6,5] x4, learns a residual over it, same keys as without", () => {
  const net = buildArch("edsr-tiny", { scale: 4, residual: true }) as unknown as Edsr;
  const plain = buildArch("edsr-tiny", { scale: 4 }) as unknown as Edsr;
  assert.deepEqual([...net.stateDict().keys()], [...plain.stateDict().keys()]);
  scope(() => {
    const x = rand([2, 3, 6, 5]);
    const bicubic = F.interpolate(x, { scaleFactor: 4, mode: "bicubic" }); // [2, 3, 24, 20]
    assert.equal(
      noGrad(() => net.call(x))
        .sub(bicubic)
        .abs()
        .max()
        .item(),
      0,
    );
    // The zeroed last conv still receives a gradient, so training moves the output away from bicubic.
    net.call(x).sub(bicubic.flip(3)).abs().mean().backward();
    const last = [...net.namedParameters()].find(([k]) => k === "tail.1.weight")![1];
    assert.ok(last.grad!.abs().sum().item() > 0);
  });
  net.dispose();
  plain.dispose();
});
