import assert from "node:assert/strict";
import { test } from "node:test";
import { keep, memory, ones, scope, type Tensor, tensor, zeros } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";

test("scope disposes intermediates and keeps the returned tensors", () => {
  const before = memory().liveTensors;
  const out = scope(() => {
    const a = ones([4, 4]);
    const b = a.mul(3);
    return { sum: b.add(1), list: [b.sub(1)] };
  });
  assert.equal(memory().liveTensors, before + 2);
  assert.deepEqual(out.sum.toArray(), new Array(16).fill(4));
  assert.deepEqual(out.list[0]!.toArray(), new Array(16).fill(2));
  out.sum.dispose();
  out.list[0]!.dispose();
  assert.equal(memory().liveTensors, before);
});

test("nested scopes hand kept tensors to the parent; keep() detaches from every scope", () => {
  const before = memory().liveTensors;
  let owned: Tensor | undefined;
  scope(() => {
    const inner = scope(() => zeros([2]).add(1));
    owned = keep(inner.mul(2));
    // inner is owned by the outer scope and freed with it
  });
  assert.equal(memory().liveTensors, before + 1);
  assert.deepEqual(owned!.toArray(), [2, 2]);
  owned!.dispose();
  assert.equal(memory().liveTensors, before);
});

test("a throwing scope frees what it created and rethrows", () => {
  const before = memory().liveTensors;
  assert.throws(
    () =>
      scope(() => {
        ones([3]);
        throw new Error("boom");
      }),
    /boom/,
  );
  assert.equal(memory().liveTensors, before);
});

test("async scope callbacks are rejected with E_ASYNC_SCOPE", () => {
  assert.throws(
    () => scope(async () => 1),
    (e: unknown) => e instanceof TasksrError && e.code === "E_ASYNC_SCOPE",
  );
});

test("using disposes at block end; disposed tensors give a clear error", () => {
  const before = memory().liveTensors;
  let escaped: Tensor;
  {
    using t = tensor([1, 2, 3]);
    escaped = t;
    assert.equal(memory().liveTensors, before + 1);
  }
  assert.equal(memory().liveTensors, before);
  assert.equal(escaped.isDisposed, true);
  assert.throws(() => escaped.add(1), /disposed tensor/);
});

test("native errors name the op and argument shapes instead of aborting", () => {
  using a = zeros([2, 3]);
  using b = zeros([2, 3]);
  assert.throws(
    () => a.matmul(b),
    /matmul\(Tensor\[2, 3\] float32 cpu, Tensor\[2, 3\] float32 cpu\): .*cannot be multiplied/,
  );
});

test("memory() reports native CPU bytes of live tensors", () => {
  const base = memory().cpuBytes;
  const t = zeros([1024, 256]);
  assert.ok(memory().cpuBytes - base >= 1024 * 256 * 4);
  t.dispose();
  assert.ok(memory().cpuBytes - base < 1024);
});
