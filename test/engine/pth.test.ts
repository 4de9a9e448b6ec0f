import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  type DType,
  extractStateDict,
  loadPth,
  memory,
  type PickledObject,
  readPth,
  scope,
  type Tensor,
} from "../../src/engine/index.js";
import { ZipArchive } from "../../src/engine/serialize/zip.js";
import { TasksrError } from "../../src/errors.js";

// Tests run from dist/test/engine; the fixtures (written by tools/fixtures/pth.py) stay in the source tree.
const fixture = (name: string): string => fileURLToPath(new URL(`../../../test/fixtures/pth/${name}`, import.meta.url));

interface Expected {
  name: string;
  dtype: DType;
  shape: number[];
  /** Flat values as PyTorch reads them back; int64 as decimal strings, bool as 0/1. */
  values: (number | string)[];
}
const EXPECTED = JSON.parse(readFileSync(fixture("expected.json"), "utf8")) as Record<string, Expected[]>;

const tmp = mkdtempSync(join(tmpdir(), "tasksr-pth-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeTmp(name: string, bytes: Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

function assertTensors(actual: Map<string, Tensor>, expected: Expected[], file: string): void {
  assert.deepStrictEqual(
    [...actual.keys()],
    expected.map((e) => e.name),
    `${file}: names`,
  );
  for (const e of expected) {
    const t = actual.get(e.name)!;
    assert.equal(t.dtype, e.dtype, `${file} ${e.name}: dtype`);
    assert.deepStrictEqual([...t.shape], e.shape, `${file} ${e.name}: shape`);
    assert.ok(t.isContiguous, `${file} ${e.name}: contiguous`);
    const data = t.data();
    const values = data instanceof BigInt64Array ? Array.from(data, String) : Array.from(data);
    assert.deepStrictEqual(values, e.values, `${file} ${e.name}: values`);
  }
}

const disposeAll = (m: Map<string, Tensor>): void => {
  for (const t of m.values()) t.dispose();
};

const badFile =
  (...patterns: RegExp[]) =>
  (e: unknown) =>
    e instanceof TasksrError && e.code === "E_BAD_FILE" && patterns.every((p) => p.test(e.message));

const FILES = [
  "zip.pt",
  "legacy.pt",
  "zip64.pt",
  "deflate.pt",
  "views.pt",
  "views_legacy.pt",
  "legacy_storage_view.pt",
  "checkpoint.pth",
];

for (const file of FILES) {
  test(`${file} loads with PyTorch's exact values, dtypes and shapes, and frees everything on dispose`, () => {
    const before = memory().liveTensors;
    const m = loadPth(fixture(file));
    assertTensors(m, EXPECTED[file]!, file);
    for (const t of m.values()) assert.equal(t.device, "cpu");
    disposeAll(m);
    assert.equal(memory().liveTensors, before);
  });
}

test("num_batches_tracked stays in the state dict as a 0-d int64 tensor", () => {
  const m = loadPth(fixture("legacy.pt"));
  const n = m.get("bn.num_batches_tracked")!;
  assert.equal(n.dtype, "int64");
  assert.deepStrictEqual([...n.shape], []);
  assert.deepStrictEqual([...n.data<"int64">()], [1n]);
  disposeAll(m);
});

test("a nested checkpoint: loadPth picks params, or the key given; readPth keeps the other entries", () => {
  const before = memory().liveTensors;
  const ema = loadPth(fixture("checkpoint.pth"), { key: "params_ema" });
  assertTensors(ema, EXPECTED["checkpoint.pth#params_ema"]!, "checkpoint.pth#params_ema");
  assert.equal(ema.get("conv.weight")!.requiresGrad, false);
  disposeAll(ema);
  assert.equal(memory().liveTensors, before);

  scope(() => {
    const obj = readPth(fixture("checkpoint.pth")) as Map<string, unknown>;
    assert.deepStrictEqual([...obj.keys()], ["epoch", "params", "params_ema", "args", "optimizer"]);
    assert.equal(obj.get("epoch"), 3);
    const args = obj.get("args") as PickledObject;
    assert.equal(args.__class__, "argparse.Namespace");
    assert.deepStrictEqual(
      args.state,
      new Map<string, unknown>([
        ["scale", 4],
        ["lr", 1e-4],
        ["name", "edsr"],
        ["milestones", [200, 400]],
      ]),
    );
    const optState = (obj.get("optimizer") as Map<string, Map<number, Map<string, unknown>>>).get("state")!.get(0)!;
    assert.equal(optState.get("step"), 10);
    assert.deepStrictEqual((optState.get("exp_avg") as Tensor).toArray(), [0.25, 0.25, 0.25, 0.25]);

    const params = obj.get("params") as Map<string, unknown>;
    const sd = extractStateDict(obj);
    assert.equal(sd.size, EXPECTED["checkpoint.pth"]!.length);
    for (const [k, t] of sd) assert.equal(t, params.get(k), `${k} is the tensor of obj.params, not a copy`);
    assert.deepStrictEqual([...extractStateDict(obj, "params_ema").keys()], ["conv.weight", "conv.bias"]);
    assert.throws(
      () => extractStateDict(obj, "model", "ckpt.pth"),
      badFile(/ckpt\.pth: has no key "model"/, /"epoch", "params", "params_ema", "args", "optimizer"/),
    );
    assert.throws(() => extractStateDict(obj, "epoch", "ckpt.pth"), badFile(/"epoch" holds a number without tensors/));
  });
  assert.equal(memory().liveTensors, before);
});

test("extractStateDict lists the top-level keys when no state dict is found", () => {
  const obj = new Map<string, unknown>([
    ["epoch", 1],
    ["net", { __class__: "models.EDSR", args: [], state: null }],
  ]);
  assert.throws(
    () => extractStateDict(obj, undefined, "x.pth"),
    badFile(/x\.pth: no state dict found/, /"epoch", "net"/),
  );
  assert.throws(() => extractStateDict([1, 2]), badFile(/expected a dict of tensors at the top level, found a list/));
});

test("tensors sharing a storage are views with the right values; tied names get independent handles", () => {
  const before = memory().liveTensors;
  scope(() => {
    const obj = readPth(fixture("views.pt")) as Map<string, Tensor>;
    assert.equal(obj.get("a"), obj.get("tied"), "the pickle stores a tied tensor once");
  });
  const m = loadPth(fixture("views.pt"));
  const a = m.get("a")!;
  const tied = m.get("tied")!;
  assert.notEqual(a, tied);
  a.dispose();
  assert.deepStrictEqual(
    tied.toArray(),
    Array.from({ length: 24 }, (_, i) => i),
  );
  disposeAll(m);
  assert.equal(memory().liveTensors, before);
});

test("damaged and foreign files give E_BAD_FILE naming the path, and leak nothing", () => {
  const before = memory().liveTensors;
  const zip = readFileSync(fixture("zip.pt"));
  const cases: [string, RegExp][] = [];

  const truncatedZip = writeTmp("truncated.pt", zip.subarray(0, zip.length >> 1));
  cases.push([truncatedZip, /no end-of-central-directory record/]);
  const legacy = readFileSync(fixture("legacy.pt"));
  cases.push([writeTmp("truncated_legacy.pt", legacy.subarray(0, legacy.length - 10)), /truncated/]);

  // data.pkl is stored uncompressed, so its bytes can be damaged in place.
  const pklAt = (buf: Buffer): [number, number] => {
    const entry = new ZipArchive(buf, "copy").read("zip/data.pkl");
    return [entry.byteOffset - buf.byteOffset, entry.length];
  };
  const garbage = Buffer.from(zip);
  const [start, length] = pklAt(garbage);
  garbage.fill(0xa7, start, start + length);
  cases.push([writeTmp("garbage_pkl.pt", garbage), /entry zip\/data\.pkl.*unsupported opcode 0xa7.*byte 0\b/]);
  // Replacing the final STOP makes the load fail after every tensor was built: they must all be freed.
  const noStop = Buffer.from(zip);
  noStop[start + length - 1] = 0xff;
  cases.push([writeTmp("no_stop.pt", noStop), /unsupported opcode 0xff/]);

  // Pseudo-random bytes from a fixed-seed linear congruential generator, so failures reproduce.
  const random = Buffer.alloc(4096);
  for (let i = 0, seed = 12345; i < random.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    random[i] = seed >>> 24;
  }
  cases.push([writeTmp("random.bin", random), /not a PyTorch checkpoint/]);
  cases.push([fixture("big_endian.pt"), /big-endian/]);
  cases.push([fixture("big_endian_zip.pt"), /big-endian/]);
  cases.push([fixture("complex.pt"), /storage type torch\.ComplexFloatStorage is not supported/]);
  cases.push([join(tmp, "missing.pt"), /cannot read/]);

  for (const [path, pattern] of cases) {
    const escaped = new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    assert.throws(() => loadPth(path), badFile(escaped, pattern), path);
    assert.equal(memory().liveTensors, before, `no tensor left behind by ${path}`);
  }
});
