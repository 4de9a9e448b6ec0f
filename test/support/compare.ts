import assert from "node:assert/strict";
import { loadSafetensors, scope, type Tensor } from "../../src/engine/index.js";

/** max |a - b| / max |b|: the error relative to the reference's scale. */
export function relErr(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape, "shapes differ");
  return scope(() => {
    const diff = a.sub(b).abs().max().item();
    const scale = b.abs().max().item();
    return diff / Math.max(scale, 1e-12);
  });
}

/** Asserts relErr(actual, expected) <= tol and returns the error (for reporting). */
export function assertClose(actual: Tensor, expected: Tensor, tol: number, what: string): number {
  const e = relErr(actual, expected);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
  return e;
}

/** A fixture file as a lookup that fails with the key name, plus the sub-dict under a prefix. */
export function fixture(path: string) {
  const tensors = loadSafetensors(path).tensors;
  const get = (k: string): Tensor => {
    const t = tensors.get(k);
    assert.ok(t, `fixture key ${k}`);
    return t;
  };
  const sub = (prefix: string): Map<string, Tensor> =>
    new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  return { tensors, get, sub };
}
