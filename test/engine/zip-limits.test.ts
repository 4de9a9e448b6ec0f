/**
 * Size checks of the .pth zip reader against zip bombs: archives written here hold a one-tensor pickle
 * ({"w": 256 float32 elements in storage "0"}) and a DEFLATE storage entry whose declared sizes lie. The bomb
 * inflates to 64 MiB; the reader must refuse it after at most the declared bytes, so peak RSS stays far below that.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { constants, deflateRawSync } from "node:zlib";
import { loadPth, memory } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";

const tmp = mkdtempSync(join(tmpdir(), "tasksr-zip-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const NUMEL = 256;
const NEED = NUMEL * 4;
const BOMB_SIZE = 64 << 20;
const MIB = 1 << 20;

/** Protocol-2 pickle of {"w": _rebuild_tensor_v2(persid(('storage', FloatStorage, '0', 'cpu', 256)), 0, (256,), (1,), False, {})}. */
function statePickle(): Buffer {
  const str = (s: string) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(s.length);
    return Buffer.concat([Buffer.from([0x58]), len, Buffer.from(s, "latin1")]);
  };
  const int = (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(n, 1);
    return b;
  };
  const op = (...codes: number[]) => Buffer.from(codes);
  const global = (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, "latin1");
  return Buffer.concat([
    op(0x80, 2, 0x7d), // PROTO 2, EMPTY_DICT
    str("w"),
    global("torch._utils", "_rebuild_tensor_v2"),
    op(0x28, 0x28), // MARK (arguments), MARK (persistent id)
    str("storage"),
    global("torch", "FloatStorage"),
    str("0"),
    str("cpu"),
    int(NUMEL),
    op(0x74, 0x51), // TUPLE, BINPERSID
    int(0),
    int(NUMEL),
    op(0x85), // TUPLE1: size
    int(1),
    op(0x85), // TUPLE1: stride
    op(0x89, 0x7d), // NEWFALSE (requires_grad), EMPTY_DICT (hooks)
    op(0x74, 0x52, 0x73, 0x2e), // TUPLE, REDUCE, SETITEM, STOP
  ]);
}

interface Entry {
  name: string;
  method: 0 | 8;
  data: Buffer;
  /** Uncompressed size written to the central directory. */
  size: number;
  /** Uncompressed size written to the local header (default: `size`). */
  localSize?: number;
}

/** A plain zip archive (no data descriptors, no ZIP64, CRCs left zero: the reader does not check them). */
function zip(entries: Entry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.method, 8);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.localSize ?? e.size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.method, 10);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(e.size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.data);
    centrals.push(central, name);
    offset += local.length + name.length + e.data.length;
  }
  const directory = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(directory.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, eocd]);
}

/**
 * 64 MiB of zeros as raw DEFLATE (65 KB), built from a sync-flushed 1 MiB block repeated, so the test never holds
 * the 64 MiB itself.
 */
function bomb(): Buffer {
  const block = deflateRawSync(Buffer.alloc(MIB), { finishFlush: constants.Z_SYNC_FLUSH });
  return Buffer.concat([...Array<Buffer>(BOMB_SIZE / MIB).fill(block), Buffer.from([0x03, 0x00])]);
}

/** An archive with the pickle and storage entry `zip/data/0` deflated from `data`, declared as `size` bytes. */
function archive(file: string, data: Buffer, size: number, localSize?: number): string {
  const path = join(tmp, file);
  const pkl = statePickle();
  writeFileSync(
    path,
    zip([
      { name: "zip/data.pkl", method: 0, data: pkl, size: pkl.length },
      { name: "zip/data/0", method: 8, data, size, localSize },
    ]),
  );
  return path;
}

const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** Asserts loadPth(path) fails with E_BAD_FILE naming the file and matching `pattern`, peak RSS and tensors unchanged. */
function assertRefused(path: string, pattern: RegExp): void {
  const tensors = memory().liveTensors;
  const peak = peakRssMiB();
  assert.throws(
    () => loadPth(path),
    (e: unknown) =>
      e instanceof TasksrError &&
      e.code === "E_BAD_FILE" &&
      e.message.startsWith(`${path}: `) &&
      pattern.test(e.message),
  );
  const grown = peakRssMiB() - peak;
  assert.ok(grown < 16, `peak RSS grew by ${grown.toFixed(1)} MiB refusing ${path}`);
  assert.equal(memory().liveTensors, tensors);
}

// Runs first so that the engine (libtorch) is loaded before any peak RSS is compared.
test("a DEFLATE storage entry whose sizes are right loads (the archives of these tests are well formed)", () => {
  const path = archive("good.pth", deflateRawSync(Buffer.alloc(NEED)), NEED);
  const sd = loadPth(path);
  const w = sd.get("w")!;
  assert.deepEqual([...w.shape], [NUMEL]);
  assert.ok((w.data() as Float32Array).every((v) => v === 0));
  w.dispose();
});

test("zip bomb: an entry declared as 1 KiB that inflates to 64 MiB is refused after 1 KiB, naming file and entry", () => {
  assertRefused(archive("bomb.pth", bomb(), NEED), /entry zip\/data\/0 inflates past its declared 1024 bytes/);
});

test("zip bomb: an entry declaring 64 MiB for a storage of 256 float32 elements is refused before inflating", () => {
  assertRefused(
    archive("oversized.pth", bomb(), BOMB_SIZE),
    /entry zip\/data\/0 declares 67108864 bytes but storage 0 holds 256 float32 elements \(1024 bytes\)/,
  );
});

test("an entry whose local header and central directory declare different sizes is refused before inflating", () => {
  assertRefused(
    archive("mismatch.pth", bomb(), NEED, BOMB_SIZE),
    /entry zip\/data\/0 declares 67108864 bytes \(\d+ compressed\) in its local header but 1024 \(\d+ compressed\) in the central directory/,
  );
});
