/**
 * safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
 * then the raw little-endian tensor bytes. Our checkpoint and weights format (https://github.com/huggingface/safetensors).
 */
import { readFileSync } from "node:fs";
import { TasksrError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic.js";
import { DTYPE_CODE, type DType } from "./dtype.js";
import { N } from "./native.js";
import { Tensor } from "./tensor.js";

const TO_ST: Record<DType, string> = {
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  float64: "F64",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};
const FROM_ST: Record<string, DType | undefined> = Object.fromEntries(
  Object.entries(TO_ST).map(([k, v]) => [v, k as DType]),
);

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Serialises tensors (copied to CPU) plus string metadata into safetensors bytes. Keys are written sorted. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Buffer {
  const list: [string, Tensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const entries = list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = Buffer.from(N.toBuffer(t.handle));
    header[name] = { dtype: TO_ST[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  // Pad the header with spaces to 8-byte alignment so the data section is aligned (as the reference writer does).
  const padLen = (8 - (json.length % 8)) % 8;
  if (padLen) json = Buffer.concat([json, Buffer.alloc(padLen, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...blobs]);
}

/** Parses safetensors bytes into CPU tensors (owned by the caller or the open scope). `where` names the source in errors. */
export function decodeSafetensors(buf: Buffer, where = "<buffer>"): SafetensorsFile {
  const bad = (msg: string): never => {
    throw new TasksrError("E_BAD_FILE", `${where}: not a valid safetensors file: ${msg}`);
  };
  if (buf.length < 8) bad("shorter than the 8-byte header length");
  // Compared as a bigint: random bytes give lengths past 2^53, which a number would print rounded.
  const hlen64 = buf.readBigUInt64LE(0);
  if (hlen64 > BigInt(buf.length - 8)) bad(`header length ${hlen64} exceeds file size ${buf.length}`);
  const hlen = Number(hlen64);
  let header: Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  try {
    header = JSON.parse(buf.subarray(8, 8 + hlen).toString("utf8"));
  } catch (err) {
    return bad(`header is not JSON (${(err as Error).message})`);
  }
  const base = 8 + hlen;
  const tensors = new Map<string, Tensor>();
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  try {
    for (const [name, info] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const { dtype, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const dt = FROM_ST[dtype] ?? bad(`tensor ${name} has unsupported dtype ${dtype}`);
      if (!Array.isArray(shape) || !Array.isArray(data_offsets)) bad(`tensor ${name} lacks shape or data_offsets`);
      const [b, e] = data_offsets;
      if (!(b <= e && base + e <= buf.length)) bad(`tensor ${name} data [${b}, ${e}) lies outside the file`);
      // Copy into an aligned buffer: the addon copies again, but typed views need no alignment this way.
      const bytes = new Uint8Array(e - b);
      bytes.set(buf.subarray(base + b, base + e));
      tensors.set(name, new Tensor(N.fromBuffer(bytes, shape, DTYPE_CODE[dt])));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    if (err instanceof TasksrError) throw err;
    return bad((err as Error).message);
  }
  return { tensors, metadata };
}

export function loadSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return decodeSafetensors(buf, path);
}

/** Writes atomically: a temporary file in the same folder, fsync, then rename over `path`. */
export function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
