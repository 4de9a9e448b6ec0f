import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cropTo, padToMultiple } from "../../src/data/degrade/pad.js";
import { quantize, torchBicubicDown } from "../../src/data/degrade/torch_bicubic.js";
import { F, memory, scope, type Tensor, tensor } from "../../src/engine/index.js";
import { FIXTURES } from "../support/paths.js";

interface Case {
  name: string;
  shape: number[];
  scale: number;
  lrShape: number[];
  ties: number;
  lr: string;
  hrU8?: string;
  hrF32?: string;
}
const REF = JSON.parse(readFileSync(join(FIXTURES, "data", "torch_bicubic.json"), "utf8")) as { cases: Case[] };
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));

function hrOf(c: Case): Tensor {
  if (c.hrF32 !== undefined) {
    const b = bytes(c.hrF32);
    return tensor(new Float32Array(b.buffer, b.byteOffset, b.length / 4), { shape: c.shape });
  }
  return scope(() => tensor(bytes(c.hrU8!), { shape: c.shape }).float().div(255));
}

for (const c of REF.cases) {
  test(`torch-bicubic matches PyTorch bit-exactly: ${c.name} [${c.shape}] x${c.scale} (${c.ties} ties)`, () => {
    const before = memory().liveTensors;
    const hr = hrOf(c);
    const lr = torchBicubicDown(hr, c.scale);
    assert.deepEqual(lr.shape, c.lrShape);
    const got = lr.data<"float32">();
    const want = bytes(c.lr);
    let diff = 0;
    for (let i = 0; i < want.length; i++) if (got[i] !== Math.fround(want[i]! / 255)) diff++;
    assert.equal(diff, 0, `${diff} of ${want.length} values differ`);
    // The same inputs hit exactly as many k + 0.5 cases in the engine as in PyTorch.
    const ties = scope(() => {
      const pre = F.interpolate(hr, { scaleFactor: 1 / c.scale, mode: "bicubic", alignCorners: false }).mul(255);
      return pre.sub(pre.floor()).eq(0.5).sum().item();
    });
    assert.equal(ties, c.ties);
    hr.dispose();
    lr.dispose();
    assert.equal(memory().liveTensors, before);
  });
}

test("methods.md Part E: [0, 0, 255, 255] at x4 -> 128; 126.5 rounds to 126, not Math.round's 127", () => {
  const before = memory().liveTensors;
  const levels = scope(() => {
    const row = tensor([0, 0, 1, 1]).reshape(1, 1, 1, 4).expand(1, 1, 4, 4);
    return torchBicubicDown(row, 4).mul(255).round().toArray();
  });
  assert.deepEqual(levels, [128]);
  const q = scope(() =>
    quantize(tensor([126.5 / 255, 127.5 / 255, 0.5 / 255, -0.2, 1.3]))
      .mul(255)
      .round()
      .toArray(),
  );
  assert.equal(Math.round(126.5), 127);
  assert.deepEqual(q, [126, 128, 0, 0, 255]);
  assert.equal(memory().liveTensors, before);
});

test("padToMultiple pads right/bottom (replicate, or reflect when the pad is smaller than the side); cropTo undoes it", () => {
  const before = memory().liveTensors;
  const x = tensor([1, 2, 3, 4, 5, 6], { shape: [1, 1, 2, 3] });
  const r = padToMultiple(x, 4);
  assert.deepEqual([r.height, r.width], [2, 3]);
  assert.deepEqual(r.x.tolist(), [
    [
      [
        [1, 2, 3, 3],
        [4, 5, 6, 6],
        [4, 5, 6, 6],
        [4, 5, 6, 6],
      ],
    ],
  ]);
  const f = padToMultiple(x, 2, "reflect");
  assert.deepEqual(f.x.tolist(), [
    [
      [
        [1, 2, 3, 2],
        [4, 5, 6, 5],
      ],
    ],
  ]);
  const big = padToMultiple(x, 8, "reflect"); // pads of 6 and 5 exceed the sides: replicate
  assert.deepEqual(big.x.shape, [1, 1, 8, 8]);
  assert.equal(
    scope(() => big.x.index(0, 0, 7, 7).item()),
    6,
  );
  const back = cropTo(r.x, r.height, r.width);
  assert.ok(back.equal(x));
  for (const t of [x, r.x, f.x, big.x, back]) t.dispose();
  assert.equal(memory().liveTensors, before);
});
