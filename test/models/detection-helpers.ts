/** Shared helpers of the detection tests: fixtures, tolerances, seeded weights, detection-set comparison. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Generator, loadSafetensors, noGrad, scope, type Tensor } from "../../src/engine/index.js";
import type { Detection } from "../../src/models/detection/types.js";
import type { Module } from "../../src/nn/module.js";
import { FIXTURES } from "../support/paths.js";

/**
 * Tensors of test/fixtures/detection/<name>.safetensors with a checked getter (kept for the whole test file);
 * `meta` holds the file's string metadata.
 */
export function fixture(name: string): ((key: string) => Tensor) & { meta: Record<string, string> } {
  const file = loadSafetensors(join(FIXTURES, "detection", `${name}.safetensors`));
  const get = (key: string) => {
    const t = file.tensors.get(key);
    assert.ok(t, `fixture ${name}:${key} missing`);
    return t;
  };
  return Object.assign(get, { meta: file.metadata });
}

/** max |a - b| / max(|b|_inf, floor): a relative error on the tensor's scale. */
export function relErr(a: Tensor, b: Tensor, floor = 1e-6): number {
  assert.deepEqual([...a.shape], [...b.shape], "shapes differ");
  return scope(() => {
    const d = a.to("float64").sub(b.to("float64")).abs().max().item();
    return d / Math.max(b.abs().max().item(), floor);
  });
}

export function assertClose(a: Tensor, b: Tensor, tol: number, what: string): void {
  const e = relErr(a, b);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
}

/**
 * Seeded weights shared with tools/fixtures/detection_common.py: every state-dict entry (sorted by key, without
 * num_batches_tracked) is filled from its own generator seeded with seed + index, uniformly in a range chosen by
 * its role. Both sides draw identical numbers, so full-size networks need no weight files. The draw is in [0, 1)
 * and then scaled by two separate ops: uniform_(lo, hi) computes `u * (hi - lo) + lo` with one rounding (FMA) in
 * ATen's AVX2 kernels and two in its NO AVX ones, which would make the weights depend on the CPU.
 */
export function fillSeeded(m: Module<never[], unknown>, seed: number): void {
  const entries = [...m.stateDict().entries()]
    .filter(([k]) => !k.endsWith("num_batches_tracked"))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  noGrad(() => {
    for (const [i, [key, t]] of entries.entries()) {
      const [lo, hi] = seededRange(key, t.shape);
      t.uniform_(0, 1, new Generator(seed + i))
        .mul_(hi - lo)
        .add_(lo);
    }
  });
}

function seededRange(key: string, shape: readonly number[]): [number, number] {
  const name = key.slice(key.lastIndexOf(".") + 1);
  if (name === "running_var") return [0.5, 1.5];
  if (name === "running_mean") return [-0.2, 0.2];
  if (name === "scale_weight") return [10, 30];
  if (shape.length === 1) return name === "weight" ? [0.5, 1.5] : [-0.1, 0.1];
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const b = Math.sqrt(6 / fanIn);
  return [-b, b];
}

interface Det {
  box: number[];
  score: number;
  label: number;
}
const rows = (d: Detection): Det[] => {
  const b = d.boxes.toArray();
  const s = d.scores.toArray();
  const l = d.labels.toArray();
  return s.map((score, i) => ({ box: b.slice(4 * i, 4 * i + 4), score, label: l[i]! }));
};

/**
 * Compares two detection sets (order-free): every detection must have a counterpart with the same label, box
 * within `boxTol` relative to the box scale and score within `scoreTol`. Detections whose score lies within
 * `scoreTol` of the lowest kept score may be missing on either side (a tie at the cut-off).
 */
export function assertSameDetections(
  got: Detection,
  want: Detection,
  what: string,
  scoreTol = 1e-4,
  boxTol = 1e-4,
): void {
  const g = rows(got);
  const w = rows(want);
  const cutoff = Math.min(...w.map((d) => d.score), ...g.map((d) => d.score));
  const scale = Math.max(1, ...w.flatMap((d) => d.box.map(Math.abs)));
  const used = new Set<number>();
  let matched = 0;
  for (const d of w) {
    const j = g.findIndex(
      (e, k) =>
        !used.has(k) &&
        e.label === d.label &&
        Math.abs(e.score - d.score) <= scoreTol * Math.max(1, d.score) &&
        e.box.every((v, c) => Math.abs(v - d.box[c]!) <= boxTol * scale),
    );
    if (j >= 0) {
      used.add(j);
      matched++;
    } else {
      assert.ok(d.score - cutoff <= scoreTol, `${what}: reference detection ${JSON.stringify(d)} not found`);
    }
  }
  for (const [k, e] of g.entries()) {
    if (!used.has(k)) assert.ok(e.score - cutoff <= scoreTol, `${what}: extra detection ${JSON.stringify(e)}`);
  }
  assert.ok(matched >= Math.min(w.length, g.length) - 2, `${what}: only ${matched} of ${w.length} detections matched`);
}

/** Multiplies the named state-dict entries in place, as detection_common.py's scale_entries. */
export function scaleEntries(m: Module<never[], unknown>, factors: Record<string, number>): void {
  const sd = m.stateDict();
  noGrad(() => {
    for (const [key, f] of Object.entries(factors)) {
      const t = sd.get(key);
      assert.ok(t, `scaleEntries: no entry ${key}`);
      t.mul_(f);
    }
  });
}
