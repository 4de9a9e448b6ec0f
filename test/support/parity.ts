/**
 * Harness for the engine parity tests: loads the PyTorch reference fixtures (tools/fixtures/engine_ops.py), runs each
 * case through our API, and compares outputs and input gradients with the case's tolerance.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isFloating } from "../../src/engine/dtype.js";
import { cpuCapability, grad, loadSafetensors, memory, scope, Tensor } from "../../src/engine/index.js";
import { FIXTURES } from "./paths.js";

/** Elementwise |actual - expected| <= atol + rtol * |expected|, or bit-for-bit equality. */
export type Tolerance = { rtol: number; atol: number } | "exact";

export interface ParityCase {
  id: string;
  family: string;
  name: string;
  op: string;
  args: Record<string, unknown>;
  /** Input name -> fixture key. */
  inputs: Record<string, string>;
  /** Fixture keys of the outputs, in order. */
  outputs: string[];
  /** Output index -> fixture key of the gradient fed to it. */
  gradOutputs: Record<string, string>;
  /** Input name -> fixture key of the gradient of the outputs with respect to it. */
  grads: Record<string, string>;
  tol: Tolerance;
}

export type Inputs = Readonly<Record<string, Tensor>>;
/**
 * Runs one op family member. Each runner declares the shape of its own args (the JSON written by the generator);
 * `never` here lets a runner with any args type be stored in one table.
 */
export type Runner = (inputs: Inputs, args: never) => Tensor | readonly Tensor[];

interface Fixtures {
  cases: ParityCase[];
  tensors: Map<string, Tensor>;
}

let loaded: Fixtures | undefined;

/** Loads ops.json and ops.safetensors once per test file; the tensors live until the process ends. */
function fixtures(): Fixtures {
  if (loaded === undefined) {
    const dir = join(FIXTURES, "engine");
    const meta = JSON.parse(readFileSync(join(dir, "ops.json"), "utf8")) as { cases: ParityCase[] };
    loaded = { cases: meta.cases, tensors: loadSafetensors(join(dir, "ops.safetensors")).tensors };
  }
  return loaded;
}

function fixture(key: string): Tensor {
  const t = fixtures().tensors.get(key);
  assert.ok(t, `fixture tensor ${key} is missing from ops.safetensors`);
  return t;
}

function bytesOf(t: Tensor): Buffer {
  const a = t.data();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The fixtures come from PyTorch with ATen's AVX2 kernels (the AVX-512 build draws the same numbers). Kernels built
 * without AVX round `x * (to - from) + from` twice instead of once (no FMA) and evaluate Box-Muller's log, sqrt and
 * cos in another order, so there float draws (rand over a range, randn, normal_, linspace) are PyTorch's numbers on
 * that CPU, not the fixture's: measured up to 1.1e-6 absolute on values of order 1. Integer draws, permutations and
 * generator states stay exact everywhere.
 */
const floatsExact = cpuCapability() !== "NO AVX";
const NO_AVX_DRAWS: Tolerance = { rtol: 1e-5, atol: 2e-6 };

/** Asserts shape, dtype and values; exact for integer/bool results and for "exact" cases. */
export function assertClose(actual: Tensor, expected: Tensor, tolerance: Tolerance, what: string): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const tol = tolerance === "exact" && !floatsExact && isFloating(expected.dtype) ? NO_AVX_DRAWS : tolerance;
  if (tol === "exact" || !isFloating(expected.dtype)) {
    const a = bytesOf(actual);
    const e = bytesOf(expected);
    if (a.equals(e)) return;
    const av = actual.toArray();
    const ev = expected.toArray();
    const i = av.findIndex((v, k) => !Object.is(v, ev[k]));
    assert.fail(`${what}: not bit-exact; first difference at flat index ${i}: got ${av[i]}, expected ${ev[i]}`);
  }
  const av = actual.toArray();
  const ev = expected.toArray();
  let bad = 0;
  let worst = -1;
  let worstExcess = 0;
  for (let k = 0; k < ev.length; k++) {
    const a = av[k]!;
    const e = ev[k]!;
    if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > 0 || Number.isNaN(excess)) {
      bad++;
      if (worst < 0 || excess > worstExcess || Number.isNaN(excess)) {
        worst = k;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    assert.fail(
      `${what}: ${bad}/${ev.length} elements outside rtol=${tol.rtol} atol=${tol.atol}; worst at flat index ${worst}: ` +
        `got ${av[worst]}, expected ${ev[worst]}`,
    );
  }
}

function runCase(c: ParityCase, runner: Runner): void {
  const before = memory().liveTensors;
  scope(() => {
    const inputs: Record<string, Tensor> = {};
    // Clones: runners may update inputs in place (running statistics, index_put) and need fresh autograd leaves.
    for (const [name, key] of Object.entries(c.inputs)) {
      const t = fixture(key).clone();
      if (name in c.grads) t.requiresGrad_();
      inputs[name] = t;
    }
    const result = runner(inputs, c.args as never);
    const outs = result instanceof Tensor ? [result] : result;
    assert.equal(outs.length, c.outputs.length, "number of outputs");
    outs.forEach((o, j) => {
      assertClose(o, fixture(c.outputs[j]!), c.tol, `output ${j}`);
    });
    const wrt = Object.keys(c.grads);
    if (wrt.length === 0) return;
    const fed = Object.entries(c.gradOutputs);
    const grads = grad(
      fed.map(([j]) => outs[Number(j)]!),
      wrt.map((name) => inputs[name]!),
      { gradOutputs: fed.map(([, key]) => fixture(key)) },
    );
    wrt.forEach((name, k) => {
      const g = grads[k];
      assert.ok(g, `no gradient reached input ${name}`);
      assertClose(g, fixture(c.grads[name]!), c.tol, `gradient wrt ${name}`);
    });
  });
  assert.equal(memory().liveTensors, before, "live tensors after the case");
}

/**
 * Registers one test per fixture case of `family` (named after the case), plus a test that the fixtures and the
 * runner table match exactly: every case has a runner and every runner has cases.
 */
export function parityTests(family: string, runners: Readonly<Record<string, Runner>>): void {
  const cases = fixtures().cases.filter((c) => c.family === family);
  test(`${family}: every fixture case has a runner and every runner has cases`, () => {
    assert.ok(cases.length > 0, `no fixture cases for family ${family}`);
    const ops = new Set(cases.map((c) => c.op));
    assert.deepEqual(
      [...ops].filter((op) => !(op in runners)),
      [],
      "ops without a runner",
    );
    assert.deepEqual(
      Object.keys(runners).filter((op) => !ops.has(op)),
      [],
      "runners without cases",
    );
  });
  for (const c of cases) {
    const runner = runners[c.op];
    test(c.name, () => {
      assert.ok(runner, `no runner for op ${c.op}`);
      runCase(c, runner);
    });
  }
}

/** Tensors named t0, t1, ... in order (list arguments such as cat's). */
export function listed(inputs: Inputs): Tensor[] {
  return Object.keys(inputs)
    .filter((k) => /^t\d+$/.test(k))
    .sort()
    .map((k) => inputs[k]!);
}
