import assert from "node:assert/strict";
import { test } from "node:test";
import { cqmix, cqmixMask, mixWithMask } from "../../src/data/cqmix.js";
import { F, Generator, memory, noGrad, ones, randn, scope, zeros } from "../../src/engine/index.js";

test("the mix holds SR and HR pixels in g x g patches given by src = floor(dst * g / H), shared by channels", () => {
  const before = memory().liveTensors;
  const [n, h, w, g] = [4, 36, 52, 4];
  const sr = ones([n, 3, h, w]);
  const hr = zeros([n, 3, h, w]);
  const mix = cqmix(sr, hr, { grid: g, generator: new Generator(1) });
  assert.deepEqual(mix.shape, [n, 3, h, w]);
  const v = mix.data<"float32">();
  let srCount = 0;
  for (let i = 0; i < n; i++) {
    // The cell values, read at each cell's first pixel.
    const cell = (cy: number, cx: number) => v[(i * 3 * h + Math.ceil((cy * h) / g)) * w + Math.ceil((cx * w) / g)]!;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const got = v[((i * 3 + c) * h + y) * w + x]!;
          assert.ok(got === 0 || got === 1);
          assert.equal(got, cell(Math.floor((y * g) / h), Math.floor((x * g) / w)), `image ${i} c${c} (${y}, ${x})`);
          if (c === 0) srCount += got;
        }
  }
  assert.ok(srCount > 0 && srCount < n * h * w, "both SR and HR pixels present");
  for (const t of [sr, hr, mix]) t.dispose();
  assert.equal(memory().liveTensors, before);
});

test("same seed gives the same mask, another seed another; mix = M * SR + (1 - M) * HR exactly", () => {
  const before = memory().liveTensors;
  scope(() => {
    const sr = randn([3, 3, 32, 32]);
    const hr = randn([3, 3, 32, 32]);
    const a = cqmix(sr, hr, { grid: 8, generator: new Generator(7), returnMask: true });
    const b = cqmix(sr, hr, { grid: 8, generator: new Generator(7), returnMask: true });
    const c = cqmix(sr, hr, { grid: 8, generator: new Generator(8), returnMask: true });
    assert.deepEqual(a.mask.shape, [3, 1, 32, 32]);
    assert.ok(a.mask.equal(b.mask) && a.mix.equal(b.mix));
    assert.ok(!a.mask.equal(c.mask));
    const formula = a.mask.mul(sr).add(a.mask.rsub(1).mul(hr));
    assert.ok(a.mix.equal(formula));
    for (const t of [a.mix, a.mask, b.mix, b.mask, c.mix, c.mask]) t.dispose();
  });
  assert.equal(memory().liveTensors, before);
});

test("the SR fraction follows p (4096 cells: within 5 standard deviations)", () => {
  const before = memory().liveTensors;
  const gen = new Generator(3);
  for (const p of [0, 0.2, 0.5, 0.8, 1]) {
    const frac = scope(() => cqmixMask(64, 16, 16, "cpu", { grid: 8, p, generator: gen }).mean().item());
    const sd = Math.sqrt((p * (1 - p)) / 4096);
    assert.ok(Math.abs(frac - p) <= 5 * sd + 1e-9, `p=${p}: SR fraction ${frac}`);
  }
  assert.equal(memory().liveTensors, before);
});

test("the exact rule agrees with F.interpolate(nearest) at the reference sizes", () => {
  const before = memory().liveTensors;
  for (const [g, h, w] of [
    [8, 480, 480],
    [4, 224, 224],
    [8, 96, 128],
    [4, 32, 32],
    [8, 64, 72],
  ] as const) {
    scope(() => {
      const gen = new Generator(11);
      const m = cqmixMask(2, h, w, "cpu", { grid: g, generator: gen });
      const cells = zeros([2, 1, g, g]).bernoulli_(0.5, new Generator(11));
      assert.ok(m.equal(F.interpolate(cells, { size: [h, w], mode: "nearest" })), `g=${g} ${h}x${w}`);
    });
  }
  assert.equal(memory().liveTensors, before);
});

test("works with autograd off and detached inputs; rejects mismatched inputs and bad options", () => {
  const before = memory().liveTensors;
  scope(() => {
    const srTrained = randn([2, 3, 8, 8], { requiresGrad: true }).mul(2);
    const sr = srTrained.detach();
    const hr = randn([2, 3, 8, 8]);
    const mix = noGrad(() => cqmix(sr, hr, { grid: 2, generator: new Generator(0) }));
    assert.equal(mix.requiresGrad, false);
    mix.dispose();
    assert.throws(() => cqmix(sr, randn([2, 3, 8, 9]), { grid: 2 }), /differ in shape/);
    assert.throws(() => cqmix(sr, hr, { grid: 0 }), /grid must be a positive integer/);
    assert.throws(() => cqmix(sr, hr, { grid: 2, p: 1.5 }), /p must be in \[0, 1\]/);
  });
  assert.equal(memory().liveTensors, before);
});

test("a given mask mixes exactly as a drawn one; its shape is checked", () => {
  const before = memory().liveTensors;
  scope(() => {
    const sr = randn([2, 3, 8, 8]);
    const hr = randn([2, 3, 8, 8]);
    const drawn = cqmix(sr, hr, { grid: 4, generator: new Generator(5), returnMask: true });
    assert.ok(mixWithMask(sr, hr, drawn.mask).equal(drawn.mix));
    assert.throws(() => mixWithMask(sr, hr, zeros([2, 3, 8, 8])), /mask must be \[2, 1, 8, 8\], got \[2,3,8,8\]/);
    assert.throws(() => mixWithMask(sr, randn([2, 3, 8, 4]), drawn.mask), /differ in shape/);
  });
  assert.equal(memory().liveTensors, before);
});
