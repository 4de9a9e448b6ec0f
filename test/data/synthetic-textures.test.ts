import assert from "node:assert/strict";
import { test } from "node:test";
import { inkAt, REGION_TEXTURES, TEXTURES, type Texture } from "../../src/data/synthetic/textures.js";

const lcm = (a: number, b: number): number => {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a * b) / gcd(a, b);
};

/** True when pattern `a` (optionally mirrored left-right) equals `b` shifted by some (dx, dy). */
function sameUpToShift(a: Texture, b: Texture, mirror: boolean): boolean {
  const pw = lcm(a.width, b.width);
  const ph = lcm(a.height, b.height);
  for (let dy = 0; dy < ph; dy++) {
    for (let dx = 0; dx < pw; dx++) {
      let same = true;
      for (let y = 0; y < ph && same; y++) {
        for (let x = 0; x < pw && same; x++) same = inkAt(a, mirror ? -1 - x : x, y) === inkAt(b, x + dx, y + dy);
      }
      if (same) return true;
    }
  }
  return false;
}

test("every texture survives a horizontal flip (up to a shift), so flip augmentation keeps the class", () => {
  for (const t of TEXTURES) assert.ok(sameUpToShift(t, t, true), `${t.name} changes under a horizontal flip`);
});

test("no two textures coincide under shifts or flips, and none is blank or solid", () => {
  for (const [i, a] of TEXTURES.entries()) {
    const ink = a.ink.reduce((s, v) => s + v, 0);
    assert.ok(ink > 0 && ink < a.ink.length, `${a.name} has no contrast`);
    for (const b of TEXTURES.slice(i + 1)) {
      assert.ok(!sameUpToShift(a, b, false) && !sameUpToShift(a, b, true), `${a.name} and ${b.name} coincide`);
    }
  }
  assert.equal(new Set(TEXTURES.map((t) => t.name)).size, TEXTURES.length);
});

test("segmentation and detection take every texture once, period-2 ones first", () => {
  assert.deepEqual(REGION_TEXTURES.map((t) => t.name).sort(), TEXTURES.map((t) => t.name).sort());
  assert.deepEqual(
    REGION_TEXTURES.slice(0, 3).map((t) => [t.width, t.height]),
    [
      [2, 1],
      [1, 2],
      [2, 2],
    ],
  );
});
