import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { memory, noGrad, randn, saveSafetensors, scope, type Tensor } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { BatchNorm2d, Conv2d, loadWeights, Module, readWeights } from "../../src/nn/index.js";
import { FIXTURES } from "../support/paths.js";
import { tmpFile } from "../support/tmp.js";

class ConvBn extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor() {
    super();
    this.conv = this.module("conv", new Conv2d(3, 4, 3));
    this.bn = this.module("bn", new BatchNorm2d(4));
  }
  forward(x: Tensor): Tensor {
    return this.bn.call(this.conv.call(x));
  }
}

test("loadWeights reads PyTorch .pth (non-strict into a sub-network) and reports the rest", () => {
  const before = memory().liveTensors;
  const net = new ConvBn();
  const report = loadWeights(net, join(FIXTURES, "pth", "zip.pt"), { strict: false });
  assert.deepEqual(report.missing, []);
  assert.ok(report.unexpected.includes("f16") && report.unexpected.includes("bf16"));
  const sd = readWeights(join(FIXTURES, "pth", "zip.pt"));
  assert.ok(net.conv.weight.equal(sd.get("conv.weight")!));
  assert.equal(net.bn.numBatchesTracked.item(), sd.get("bn.num_batches_tracked")!.item());
  for (const t of sd.values()) t.dispose();
  net.dispose();
  assert.equal(memory().liveTensors, before);
});

test("loadWeights picks a nested state dict by key and round-trips through safetensors with a prefix", () => {
  const before = memory().liveTensors;
  const a = new ConvBn();
  const path = tmpFile("ckpt.safetensors");
  saveSafetensors(path, new Map([...a.stateDict()].map(([k, t]) => [`net.sr.${k}`, t])));
  const b = new ConvBn();
  loadWeights(b, path, { key: "net.sr" });
  const x = randn([1, 3, 6, 6]);
  a.eval();
  b.eval();
  const same = noGrad(() => scope(() => a.call(x).equal(b.call(x))));
  assert.ok(same);
  assert.throws(
    () => loadWeights(b, path, { key: "net.task" }),
    (e: unknown) => e instanceof TasksrError && e.code === "E_BAD_FILE",
  );
  assert.throws(
    () => loadWeights(b, join(FIXTURES, "pth", "checkpoint.pth")),
    (e: unknown) => e instanceof TasksrError,
  );
  x.dispose();
  a.dispose();
  b.dispose();
  assert.equal(memory().liveTensors, before);
});

test("random bytes named .safetensors are reported as a damaged safetensors file, naming it and the header length", () => {
  // Pseudo-random bytes from a fixed-seed linear congruential generator; byte 8 is not '{', as in most such files.
  const random = Buffer.alloc(4096);
  for (let i = 0, seed = 12345; i < random.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    random[i] = seed >>> 24;
  }
  assert.notEqual(random[8], 0x7b);
  const path = tmpFile("random.safetensors");
  writeFileSync(path, random);
  const length = random.readBigUInt64LE(0);
  assert.throws(
    () => readWeights(path),
    (e: unknown) =>
      e instanceof TasksrError &&
      e.code === "E_BAD_FILE" &&
      e.message.startsWith(`${path}: not a valid safetensors file: header length ${length} exceeds file size 4096`),
  );
});
