/**
 * IDX files (MNIST, Fashion-MNIST), optionally gzip-compressed: a 4-byte magic `0 0 <type> <ndim>`, `ndim`
 * big-endian uint32 dimensions, then the row-major data. Only unsigned bytes (type 0x08) occur in these datasets,
 * so only those are read.
 */
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { TasksrError } from "../../errors.js";

const gunzipAsync = promisify(gunzip);

export interface IdxArray {
  /** e.g. [60000, 28, 28] for images, [60000] for labels. */
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;
const bad = (where: string, what: string, cause?: unknown) =>
  new TasksrError("E_BAD_FILE", `IDX file ${where}: ${what}`, cause === undefined ? undefined : { cause });

/** Parses uncompressed IDX bytes; `where` names the file in errors. */
export function parseIdx(bytes: Uint8Array, where: string): IdxArray {
  if (bytes.length < 4) throw bad(where, `only ${bytes.length} bytes, too short for the header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw bad(where, `bad magic ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ")}`);
  }
  if (bytes[2] !== UBYTE) {
    throw bad(where, `element type 0x${bytes[2]!.toString(16)} is not supported; expected 0x08 (unsigned byte)`);
  }
  const ndim = bytes[3]!;
  const header = 4 + 4 * ndim;
  if (ndim === 0) throw bad(where, "declares 0 dimensions");
  if (bytes.length < header) throw bad(where, `truncated header: ${ndim} dimensions need ${header} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== count) {
    throw bad(where, `dimensions [${dims.join(", ")}] need ${count} data bytes, found ${bytes.length - header}`);
  }
  return { dims, data: bytes.subarray(header) };
}

/** Reads an IDX file; names ending in `.gz` are decompressed first. */
export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw bad(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  if (path.endsWith(".gz")) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (err) {
      throw bad(path, `corrupt gzip data (${(err as Error).message})`, err);
    }
  }
  return parseIdx(bytes, path);
}
