import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type PickledObject, PickleGlobal, unpickle } from "../../src/engine/serialize/pickle.js";
import { TasksrError } from "../../src/errors.js";

// Tests run from dist/test/engine; the fixtures stay in the source tree.
const fixture = (name: string): string => fileURLToPath(new URL(`../../../test/fixtures/pth/${name}`, import.meta.url));

const load = (bytes: Buffer | number[], opts: Partial<Parameters<typeof unpickle>[2]> = {}): unknown =>
  unpickle(Buffer.from(bytes), 0, { where: "<test>", ...opts }).value;

const badFile = (pattern: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_BAD_FILE" && pattern.test(e.message);

// The value tools/fixtures/pth.py pickles (pickle_sample), as the unpickler represents it.
const SAMPLE = new Map<unknown, unknown>([
  ["int", 7],
  ["neg", -300],
  ["u16", 65535],
  ["i32min", -(2 ** 31)],
  ["i32max_plus", 2 ** 31],
  ["pow53", 2 ** 53],
  ["big", 2n ** 53n + 1n],
  ["huge", -(2n ** 70n)],
  ["float", 0.1],
  ["inf", Number.POSITIVE_INFINITY],
  ["str", "h\u00e9llo \u2713"],
  ["long_str", "x".repeat(300)],
  ["bytes", new Uint8Array([0, 255])],
  ["empty_bytes", new Uint8Array(0)],
  ["bytearray", new Uint8Array([97, 98])],
  ["true", true],
  ["false", false],
  ["none", null],
  ["list", [1, [2, 3]]],
  ["t0", []],
  ["t1", [1]],
  ["t3", [1, 2, 3]],
  ["t4", [1, "a", null, 2.5]],
  ["set", new Set([3])],
  ["frozenset", new Set([4])],
  [
    "od",
    new Map([
      ["z", 1],
      ["a", 2],
    ]),
  ],
  ["ns", { __class__: "argparse.Namespace", args: [], state: new Map([["lr", 0.5]]) }],
  ["shared_a", [1, 2]],
  ["shared_b", [1, 2]],
  [7, "int key"],
]);

for (const proto of [2, 3, 4, 5]) {
  test(`a protocol ${proto} pickle written by Python unpickles to the expected values`, () => {
    const buf = readFileSync(fixture(`sample_p${proto}.pkl`));
    const { value, end } = unpickle(buf, 0, { where: "sample" });
    assert.equal(end, buf.length);
    assert.deepStrictEqual(value, SAMPLE);
    const m = value as Map<unknown, unknown>;
    assert.deepStrictEqual([...m.keys()], [...SAMPLE.keys()]);
    assert.deepStrictEqual([...(m.get("od") as Map<string, number>).keys()], ["z", "a"]);
    // The memo keeps shared references shared.
    assert.equal(m.get("shared_a"), m.get("shared_b"));
  });
}

test("Python 2 strings decode as text and small LONG1 values as numbers", () => {
  // PROTO 2, SHORT_BINSTRING "abc", BINSTRING "de", LONG1 -1, LONG1 0 (empty), TUPLE, STOP
  const bytes = [0x80, 2, 0x28, 0x55, 3, 97, 98, 99, 0x54, 2, 0, 0, 0, 100, 101, 0x8a, 1, 0xff, 0x8a, 0, 0x74, 0x2e];
  assert.deepStrictEqual(load(bytes), ["abc", "de", -1, 0]);
});

test("globals are called through the given callables, unknown ones become inert objects", () => {
  // GLOBAL "m f", EMPTY_TUPLE, REDUCE; GLOBAL "m Dict", EMPTY_TUPLE, NEWOBJ, MARK "k" 1 SETITEMS; TUPLE2
  const text = Buffer.from("\x80\x02cm\nf\n)Rcm\nDict\n)\x81(X\x01\x00\x00\x00kK\x01u\x86.", "latin1");
  const plain = load(text) as PickledObject[];
  assert.deepStrictEqual(plain[0], { __class__: "m.f", args: [], state: null });
  assert.deepStrictEqual(plain[1], { __class__: "m.Dict", args: [], state: null, dictitems: new Map([["k", 1]]) });
  const called = load(text, { callables: new Map([["m.f", (args: unknown[]) => `called with ${args.length}`]]) });
  assert.equal((called as unknown[])[0], "called with 0");
});

test("NEWOBJ_EX keeps keyword arguments on the inert object", () => {
  // PROTO 4, STACK_GLOBAL "m" "K", EMPTY_TUPLE, EMPTY_DICT "k" 1 SETITEM, NEWOBJ_EX
  const bytes = Buffer.from("\x80\x04\x8c\x01m\x8c\x01K\x93)}\x8c\x01kK\x01s\x92.", "latin1");
  assert.deepStrictEqual(load(bytes), { __class__: "m.K", args: [], kwargs: new Map([["k", 1]]), state: null });
});

test("BINPERSID goes to persistentLoad; a bare global stays a PickleGlobal", () => {
  // MARK "p" GLOBAL "torch float32" TUPLE BINPERSID STOP
  const bytes = Buffer.from("\x80\x02(X\x01\x00\x00\x00pctorch\nfloat32\ntQ.", "latin1");
  const seen: unknown[] = [];
  const value = load(bytes, {
    persistentLoad: (pid) => {
      seen.push(pid);
      return "resolved";
    },
  });
  assert.equal(value, "resolved");
  assert.equal(seen.length, 1);
  const [tag, dtype] = seen[0] as [string, PickleGlobal];
  assert.equal(tag, "p");
  assert.ok(dtype instanceof PickleGlobal);
  assert.equal(dtype.qualname, "torch.float32");
  assert.throws(() => load(bytes), badFile(/persistent id found but no loader/));
});

test("malformed pickles fail with E_BAD_FILE naming the source, the problem and the byte offset", () => {
  // Protocol 0 text opcodes are not part of the binary protocols: "(dp0\n." stops at DICT.
  assert.throws(() => load(Buffer.from("(dp0\n.")), badFile(/<test>: .*unsupported opcode 0x64 \("d"\).*byte 1\b/));
  const sample = readFileSync(fixture("sample_p2.pkl"));
  assert.throws(() => load(sample.subarray(0, 100)), badFile(/<test>: .*truncated/));
  assert.throws(() => load([0x80, 2, 0x68, 5, 0x2e]), badFile(/memo entry 5 read before it was written/));
  assert.throws(() => load([0x80, 2, 0x2e]), badFile(/stack underflow \(opcode at byte 2\)/));
  assert.throws(() => load([0x80, 9, 0x2e]), badFile(/pickle protocol 9/));
});
