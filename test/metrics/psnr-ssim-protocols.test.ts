// sr4ir and basicsr protocols on float network outputs against the NumPy re-computation of
// tools/fixtures/psnr_sr4ir.py (values hitting round-half-to-even, values outside [0, 1], an identical pair).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { TasksrError } from "../../src/errors.js";
import { type MetricImage, PsnrMeter, psnr, roundHalfEven, SsimMeter, ssim } from "../../src/metrics/index.js";
import { FIXTURES } from "../support/paths.js";

interface Case {
  height: number;
  width: number;
  sr_chw_float32_b64: string;
  hr_hwc_uint8_b64: string;
  half_way_values: number;
  sr4ir: { psnr: number | null; ssim: number };
  basicsr_x4: { psnr: number | null; ssim: number };
}
const DOC = JSON.parse(readFileSync(join(FIXTURES, "metrics", "psnr_protocols.json"), "utf8")) as {
  cases: Case[];
  sr4ir_mean_psnr: number;
  sr4ir_skipped: number;
};

const bytes = (b64: string) => {
  const buf = Buffer.from(b64, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
};
const srChw = (c: Case): MetricImage => {
  const b = bytes(c.sr_chw_float32_b64).slice();
  return { data: new Float32Array(b.buffer), width: c.width, height: c.height, channels: 3, layout: "chw" };
};
const hrHwc = (c: Case): MetricImage => ({
  data: bytes(c.hr_hwc_uint8_b64),
  width: c.width,
  height: c.height,
  channels: 3,
});
/** The same float image re-laid out as HWC. */
const toHwc = (img: MetricImage): MetricImage => {
  const { width: W, height: H } = img;
  const out = new Float32Array(W * H * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) out[i * 3 + c] = img.data[c * H * W + i]!;
  return { data: out, width: W, height: H, channels: 3 };
};
const psnrOf = (v: number | null) => v ?? Number.POSITIVE_INFINITY;
// The NumPy reference does the same float64 arithmetic in another order; only rounding noise separates them.
const TOL = 1e-9;

test("fixture exercises round-half-to-even", () => {
  assert.ok(DOC.cases.filter((c) => c.half_way_values > 100).length >= 3);
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 126.5, 127.5, 3.2].map(roundHalfEven), [0, 2, 2, -0, -2, 126, 128, 3]);
});

for (const [protocol, key, scale] of [
  ["sr4ir", "sr4ir", undefined],
  ["basicsr", "basicsr_x4", 4],
] as const) {
  test(`${protocol} PSNR and SSIM of float CHW and HWC outputs equal NumPy per image`, () => {
    for (const [i, c] of DOC.cases.entries()) {
      const sr = srChw(c);
      const hr = hrHwc(c);
      const o = { protocol, scale };
      const want = c[key];
      for (const img of [sr, toHwc(sr)]) {
        const p = psnr(img, hr, o);
        const wantP = psnrOf(want.psnr);
        assert.ok(p === wantP || Math.abs(p - wantP) <= TOL, `case ${i}: PSNR ${p} vs ${wantP}`);
        const q = ssim(img, hr, o);
        assert.ok(Math.abs(q - want.ssim) <= TOL, `case ${i}: SSIM ${q} vs ${want.ssim}`);
      }
    }
  });
}

test("sr4ir dataset PSNR skips identical pairs and merging shards equals one pass", () => {
  const all = new PsnrMeter({ protocol: "sr4ir" });
  const a = new PsnrMeter({ protocol: "sr4ir" });
  const b = new PsnrMeter({ protocol: "sr4ir" });
  for (const [i, c] of DOC.cases.entries()) {
    all.update(srChw(c), hrHwc(c));
    (i % 2 === 0 ? a : b).update(srChw(c), hrHwc(c));
  }
  a.merge(b);
  for (const m of [all, a]) {
    const r = m.compute();
    assert.ok(Math.abs(r.psnr - DOC.sr4ir_mean_psnr) <= TOL, `mean ${r.psnr} vs ${DOC.sr4ir_mean_psnr}`);
    assert.equal(r.skipped, DOC.sr4ir_skipped);
    assert.equal(r.images, DOC.cases.length - DOC.sr4ir_skipped);
  }
  all.reset();
  assert.ok(Number.isNaN(all.compute().psnr));
});

test("basicsr dataset PSNR keeps identical pairs (+Infinity, as the reference); SSIM meter averages", () => {
  const p = new PsnrMeter({ protocol: "basicsr", scale: 4 });
  const s = new SsimMeter({ protocol: "basicsr", scale: 4 });
  for (const c of DOC.cases) {
    p.update(srChw(c), hrHwc(c));
    s.update(srChw(c), hrHwc(c));
  }
  assert.equal(p.compute().psnr, Number.POSITIVE_INFINITY);
  const mean = DOC.cases.reduce((acc, c) => acc + c.basicsr_x4.ssim, 0) / DOC.cases.length;
  assert.ok(Math.abs(s.compute().ssim - mean) <= TOL);
});

test("quality metrics reject mismatched, too small or malformed inputs with E_TENSOR_ARG", () => {
  const c = DOC.cases[0]!;
  const isArg = (e: unknown) => e instanceof TasksrError && e.code === "E_TENSOR_ARG";
  const small: MetricImage = { data: new Uint8Array(20 * 20 * 3), width: 20, height: 20, channels: 3 };
  assert.throws(() => psnr(srChw(c), small, { protocol: "sr4ir" }), isArg);
  assert.throws(() => ssim(small, small, { protocol: "sr4ir" }), isArg);
  assert.throws(() => psnr(small, small, { protocol: "basicsr" }), isArg);
  const nan = srChw(c);
  nan.data[5] = Number.NaN;
  assert.throws(() => psnr(nan, hrHwc(c), { protocol: "sr4ir" }), /value 5 is NaN/);
  const short: MetricImage = { data: new Uint8Array(10), width: 20, height: 20, channels: 3 };
  assert.throws(() => psnr(short, short, { protocol: "sr4ir" }), isArg);
  assert.throws(
    () => new PsnrMeter({ protocol: "sr4ir" }).merge(new PsnrMeter({ protocol: "basicsr", scale: 2 }) as never),
    isArg,
  );
});
