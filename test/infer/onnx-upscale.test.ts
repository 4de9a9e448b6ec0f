// SR on onnxruntime-node (createUpscaler): the same 8-bit pixels as the libtorch path within 1/255, tiles equal to
// one untiled pass within 1/255, progress and cancel as upscaleImage, and clear errors for a file that is not an SR
// model.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { manualSeed } from "../../src/engine/index.js";
import { exportOnnx } from "../../src/export/onnx.js";
import { upscaleImage } from "../../src/infer/tile.js";
import { createUpscaler } from "../../src/infer/upscaler.js";
import { buildArch } from "../../src/models/index.js";
import type { SrNetwork } from "../../src/models/types.js";
import type { Module } from "../../src/nn/module.js";
import { tasksr } from "../support/cli.js";
import { pattern } from "../support/data_trees.js";
import { REPO } from "../support/paths.js";
import { tmpFile } from "../support/tmp.js";

function exported(arch: string, scale: number): { net: SrNetwork; bytes: Uint8Array } {
  manualSeed(7);
  const net = buildArch(arch, { scale }, "sr") as unknown as SrNetwork;
  net.eval();
  return { net, bytes: exportOnnx((x) => net.call(x), { output: "sr", sampleSize: [16, 20] }).bytes };
}

const maxByteDiff = (a: Uint8Array, b: Uint8Array) => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

test("onnx upscaler: tiled == untiled and == the libtorch path, within 1/255 (edsr-tiny x4, dbpn-tiny x2)", async () => {
  for (const [arch, scale] of [
    ["edsr-tiny", 4],
    ["dbpn-tiny", 2],
  ] as const) {
    const { net, bytes } = exported(arch, scale);
    const up = await createUpscaler({ model: bytes });
    assert.equal(up.scale, scale, "scale measured on the model");
    const img = pattern(45, 38, 3);
    const whole = await up.upscale(img);
    let calls = 0;
    const tiled = await up.upscale(img, { tile: 16, overlap: 24, onProgress: () => calls++ });
    assert.equal(calls, Math.ceil(45 / 16) * Math.ceil(38 / 16));
    assert.deepEqual([tiled.width, tiled.height], [45 * scale, 38 * scale]);
    assert.ok(maxByteDiff(whole.data, tiled.data) <= 1, `${arch}: tiles differ from the untiled pass by > 1/255`);
    const reference = await upscaleImage(net, img, { tile: 16, overlap: 24 });
    assert.ok(maxByteDiff(reference.data, tiled.data) <= 1, `${arch}: onnxruntime differs from libtorch by > 1/255`);
    await up.release();
    (net as unknown as Module).dispose();
  }
});

test("onnx upscaler: an aborted signal stops between tiles with an AbortError", async () => {
  const { net, bytes } = exported("edsr-tiny", 2);
  const up = await createUpscaler({ model: bytes });
  const stop = new AbortController();
  let calls = 0;
  await assert.rejects(
    up.upscale(pattern(40, 40, 3), {
      tile: 10,
      overlap: 4,
      signal: stop.signal,
      onProgress: (done) => {
        calls = done;
        if (done === 2) stop.abort();
      },
    }),
    { name: "AbortError" },
  );
  assert.equal(calls, 2, "no tile runs after the abort");
  await up.release();
  (net as unknown as Module).dispose();
});

test("onnx upscaler: a file that is not an SR model is one clear error", async () => {
  await assert.rejects(createUpscaler({ model: new Uint8Array([1, 2, 3, 4]) }), (e: Error & { code?: string }) => {
    assert.equal(e.code, "E_BAD_FILE");
    assert.match(e.message, /onnxruntime cannot load it/);
    return true;
  });
  await assert.rejects(createUpscaler({ model: "/nonexistent/model.onnx" }), /cannot read ONNX model/);
  manualSeed(1);
  const cls = buildArch("resnet-tiny", { numClasses: 4 }) as unknown as Module<[never], never>;
  cls.eval();
  const { bytes } = exportOnnx((x) => (cls as unknown as Module<[typeof x], typeof x>).call(x), { output: "logits" });
  await assert.rejects(createUpscaler({ model: bytes }), /maps \[1, 3, 8, 8\] to \[1,4\]; an SR model/);
  cls.dispose();
});

test("tasksr/onnx runs without loading the libtorch engine", async () => {
  const model = tmpFile("bicubic-x2.onnx");
  const r = tasksr("export", "--sr", "bicubic", "--scale", "2", "--out", model, "--no-check");
  assert.equal(r.status, 0, r.stderr);
  const script = `
    import { createUpscaler } from ${JSON.stringify(join(REPO, "dist", "src", "deploy.js"))};
    import { readFileSync } from "node:fs";
    const up = await createUpscaler({ model: ${JSON.stringify(model)} });
    const out = await up.upscale({ data: new Uint8Array(5 * 4 * 3).fill(100), width: 5, height: 4, channels: 3 });
    const maps = readFileSync("/proc/self/maps", "utf8");
    console.log(JSON.stringify({ w: out.width, h: out.height, torch: /libtorch|tasksr_native/.test(maps) }));
    await up.release();
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { w: 10, h: 8, torch: false });
});
