/**
 * A minimal ZIP reader over an in-memory buffer: enough for PyTorch archives (STORED entries, 64-byte aligned via
 * padding extra fields, ZIP64 records past 4 GiB) and for archives re-packed with DEFLATE by ordinary zip tools.
 * Layout reference: PKWARE APPNOTE.TXT sections 4.3 (records) and 4.5.3 (ZIP64 extended information).
 */
import { constants } from "node:buffer";
import { inflateRawSync } from "node:zlib";
import { TasksrError } from "../../errors.js";

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const ZIP64_EXTRA = 0x0001;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
/** General-purpose flag bit 3: sizes and CRC follow the data instead of filling the local header. */
const FLAG_DATA_DESCRIPTOR = 0x8;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** True when `buf` starts like a ZIP archive (a local file header). */
export const looksLikeZip = (buf: Uint8Array): boolean =>
  buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;

export class ZipArchive {
  readonly #buf: Buffer;
  readonly #where: string;
  readonly #entries = new Map<string, ZipEntry>();

  /** Parses the central directory of `buf`; `where` (usually the file path) names the archive in errors. */
  constructor(buf: Buffer, where: string) {
    this.#buf = buf;
    this.#where = where;
    const { count, offset } = this.#centralDirectory();
    let pos = offset;
    for (let i = 0; i < count; i++) {
      this.#need(pos, 46, "central directory entry");
      if (buf.readUInt32LE(pos) !== SIG_CENTRAL) this.#fail(`central directory entry ${i} at byte ${pos} is corrupt`);
      const flags = buf.readUInt16LE(pos + 8);
      const method = buf.readUInt16LE(pos + 10);
      let compressedSize = buf.readUInt32LE(pos + 20);
      let size = buf.readUInt32LE(pos + 24);
      const nameLen = buf.readUInt16LE(pos + 28);
      const extraLen = buf.readUInt16LE(pos + 30);
      const commentLen = buf.readUInt16LE(pos + 32);
      let localHeaderOffset = buf.readUInt32LE(pos + 42);
      this.#need(pos + 46, nameLen + extraLen + commentLen, "central directory entry");
      const name = buf.toString("utf8", pos + 46, pos + 46 + nameLen);
      // Bit 0 marks encryption, which PyTorch never writes and we cannot read.
      if (flags & 1) this.#fail(`entry ${name} is encrypted`);
      const zip64 = this.#zip64Extra(pos + 46 + nameLen, extraLen);
      // ZIP64 values appear only for the fields whose 32-bit slot holds the 0xFFFFFFFF marker, in this order.
      let k = 0;
      const wide = (value: number, field: string): number => {
        if (value !== U32_MAX) return value;
        const v = zip64[k++];
        return v ?? this.#fail(`entry ${name} lacks the ZIP64 ${field}`);
      };
      size = wide(size, "size");
      compressedSize = wide(compressedSize, "compressed size");
      localHeaderOffset = wide(localHeaderOffset, "header offset");
      this.#entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      pos += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Entry names in central-directory order. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The entry's uncompressed size as the central directory declares it (checked against the data by read()). */
  size(name: string): number {
    return this.#entry(name).size;
  }

  /**
   * The entry's bytes: a view into the archive buffer for STORED entries, a fresh buffer for DEFLATE ones. The local
   * header must agree with the central directory, and inflation stops as soon as the output passes the declared
   * size, so a small archive cannot inflate into gigabytes (a zip bomb) before it is refused.
   */
  read(name: string): Buffer {
    const e = this.#entry(name);
    const buf = this.#buf;
    const pos = e.localHeaderOffset;
    this.#need(pos, 30, `local header of ${name}`);
    if (buf.readUInt32LE(pos) !== SIG_LOCAL) this.#fail(`local header of ${name} at byte ${pos} is corrupt`);
    // The local name/extra lengths may differ from the central ones (PyTorch pads only the local extra field).
    const nameLen = buf.readUInt16LE(pos + 26);
    const extraLen = buf.readUInt16LE(pos + 28);
    this.#checkLocalHeader(e, pos, nameLen, extraLen);
    const start = pos + 30 + nameLen + extraLen;
    this.#need(start, e.compressedSize, `data of ${name}`);
    const raw = buf.subarray(start, start + e.compressedSize);
    if (e.method === METHOD_STORED) {
      if (e.size !== e.compressedSize) this.#fail(`stored entry ${name} has different sizes`);
      return raw;
    }
    if (e.method !== METHOD_DEFLATE) {
      this.#fail(`entry ${name} uses compression method ${e.method} (expected 0 = stored or 8 = deflate)`);
    }
    if (e.size > constants.MAX_LENGTH)
      this.#fail(`entry ${name} declares ${e.size} bytes, more than one buffer can hold`);
    let out: Buffer;
    try {
      // maxOutputLength must be at least 1; an empty entry that inflates to 1 byte fails the length check below.
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        return this.#fail(`entry ${name} inflates past its declared ${e.size} bytes`);
      }
      return this.#fail(`entry ${name} does not inflate: ${(err as Error).message}`);
    }
    if (out.length !== e.size) this.#fail(`entry ${name} inflates to ${out.length} bytes, expected ${e.size}`);
    return out;
  }

  #entry(name: string): ZipEntry {
    return this.#entries.get(name) ?? this.#fail(`entry ${name} is missing`);
  }

  /**
   * The local header repeats the method and sizes; a reader trusting either copy must find the same values in both.
   * Writers that stream (bit 3, as PyTorch does) leave the local sizes zero and put them in a data descriptor; ZIP64
   * headers keep them in the local extra field, uncompressed size first.
   */
  #checkLocalHeader(e: ZipEntry, pos: number, nameLen: number, extraLen: number): void {
    const buf = this.#buf;
    this.#need(pos + 30, nameLen + extraLen, `local header of ${e.name}`);
    const method = buf.readUInt16LE(pos + 8);
    if (method !== e.method) {
      this.#fail(`entry ${e.name} has compression method ${method} locally but ${e.method} in the central directory`);
    }
    if (buf.readUInt16LE(pos + 6) & FLAG_DATA_DESCRIPTOR) return;
    let compressedSize = buf.readUInt32LE(pos + 18);
    let size = buf.readUInt32LE(pos + 22);
    if (compressedSize === U32_MAX || size === U32_MAX) {
      const zip64 = this.#zip64Extra(pos + 30 + nameLen, extraLen);
      if (zip64.length < 2) this.#fail(`local header of ${e.name} lacks the ZIP64 sizes`);
      [size, compressedSize] = zip64 as [number, number];
    }
    if (size !== e.size || compressedSize !== e.compressedSize) {
      this.#fail(
        `entry ${e.name} declares ${size} bytes (${compressedSize} compressed) in its local header but ` +
          `${e.size} (${e.compressedSize} compressed) in the central directory`,
      );
    }
  }

  #centralDirectory(): { count: number; offset: number } {
    const buf = this.#buf;
    const eocd = this.#findEocd();
    let count = buf.readUInt16LE(eocd + 10);
    let offset = buf.readUInt32LE(eocd + 16);
    if (count === U16_MAX || offset === U32_MAX) {
      const loc = eocd - 20;
      if (loc < 0 || buf.readUInt32LE(loc) !== SIG_EOCD64_LOCATOR) {
        this.#fail("the end-of-central-directory record needs ZIP64 data but no ZIP64 locator precedes it");
      }
      const rec = this.#u64(loc + 8);
      this.#need(rec, 56, "ZIP64 end-of-central-directory record");
      if (buf.readUInt32LE(rec) !== SIG_EOCD64) this.#fail(`no ZIP64 end-of-central-directory record at byte ${rec}`);
      count = this.#u64(rec + 32);
      offset = this.#u64(rec + 48);
    }
    return { count, offset };
  }

  #findEocd(): number {
    const buf = this.#buf;
    const last = buf.length - EOCD_SIZE;
    for (let p = last; p >= 0 && p >= last - MAX_COMMENT; p--) {
      if (buf.readUInt32LE(p) === SIG_EOCD) return p;
    }
    return this.#fail("no end-of-central-directory record (truncated or not a zip archive)");
  }

  /** The 64-bit values of the ZIP64 extra field in [pos, pos + len), or none. */
  #zip64Extra(pos: number, len: number): number[] {
    const end = pos + len;
    while (pos + 4 <= end) {
      const id = this.#buf.readUInt16LE(pos);
      const size = this.#buf.readUInt16LE(pos + 2);
      if (id === ZIP64_EXTRA) {
        const values: number[] = [];
        for (let q = pos + 4; q + 8 <= Math.min(pos + 4 + size, end); q += 8) values.push(this.#u64(q));
        return values;
      }
      pos += 4 + size;
    }
    return [];
  }

  #u64(pos: number): number {
    this.#need(pos, 8, "64-bit field");
    const v = this.#buf.readBigUInt64LE(pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.#fail(`64-bit field at byte ${pos} is out of range`);
    return Number(v);
  }

  #need(pos: number, len: number, what: string): void {
    if (pos < 0 || pos + len > this.#buf.length) {
      this.#fail(`${what} at byte ${pos} (${len} bytes) lies past the end of the file (${this.#buf.length} bytes)`);
    }
  }

  #fail(msg: string): never {
    throw new TasksrError("E_BAD_FILE", `${this.#where}: not a valid zip archive: ${msg}`);
  }
}
