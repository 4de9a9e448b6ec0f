/**
 * Imports files written by PyTorch's `torch.save` (`.pth`/`.pt`) without Python and without running any pickled code.
 *
 * - Zip format (torch >= 1.6): `<archive>/data.pkl` holds the object pickle; each storage it references by persistent
 *   id `('storage', type, key, location, numel)` is the entry `<archive>/data/<key>`; `<archive>/byteorder`, when
 *   present, says "little" or "big".
 * - Legacy format (torch < 1.6): five consecutive pickles (magic number, protocol version 1001, sys_info, the object,
 *   the list of storage keys), then per storage key an 8-byte little-endian element count and the raw elements.
 *   Persistent ids are `('storage', type, root_key, location, numel, view_metadata)`.
 *
 * Tensors come back on the CPU, contiguous, without requires_grad; unknown classes stay inert PickledObjects.
 */
import { readFileSync } from "node:fs";
import { TasksrError } from "../../errors.js";
import type { DType } from "../dtype.js";
import { N } from "../native.js";
import { Tensor } from "../tensor.js";
import { unpickle } from "./pickle.js";
import { extractStateDict, tensorsIn } from "./state-dict.js";
import { elementSize, TensorRebuilder } from "./torch-tensors.js";
import { looksLikeZip, ZipArchive } from "./zip.js";

export { isPickledObject, type PickledObject, PickleGlobal } from "./pickle.js";
export { extractStateDict, STATE_DICT_KEYS } from "./state-dict.js";

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

export interface LoadPthOptions {
  /** Top-level key holding the state dict (e.g. "params_ema"); when omitted it is found as extractStateDict does. */
  key?: string;
}

interface StorageId {
  type: unknown;
  key: string;
  /** Elements in the storage, as the pickle declares them. */
  numel: number;
  view?: { offset: number; numel: number };
}

const fail = (path: string, msg: string): never => {
  throw new TasksrError("E_BAD_FILE", `${path}: ${msg}`);
};

/**
 * The unpickled contents of a torch.save file, with every tensor materialised: dicts are Maps, tuples arrays, unknown
 * classes (e.g. `argparse.Namespace`) inert PickledObjects. Each tensor belongs to the caller; one referenced several
 * times in the file is a single Tensor object. Use loadPth when only the weights are needed.
 */
export function readPth(path: string): unknown {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const rebuilder = new TensorRebuilder(path);
  try {
    const value = looksLikeZip(buf) ? readZipFormat(buf, path, rebuilder) : readLegacyFormat(buf, path, rebuilder);
    rebuilder.releaseStorages();
    return value;
  } catch (err) {
    rebuilder.disposeAll();
    if (err instanceof TasksrError && err.code === "E_BAD_FILE") throw err;
    throw new TasksrError("E_BAD_FILE", `${path}: cannot rebuild the tensors: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The state dict of a torch.save file as `name → Tensor` (see extractStateDict for how it is found; `opts.key`
 * names it explicitly). Every returned tensor is the caller's to dispose, including one stored under several names
 * (tied weights), which gets a handle per name sharing the same memory. Everything else in the file is freed.
 */
export function loadPth(path: string, opts: LoadPthOptions = {}): Map<string, Tensor> {
  const obj = readPth(path);
  const all = tensorsIn(obj);
  let dict: Map<string, Tensor>;
  try {
    dict = extractStateDict(obj, opts.key, path);
  } catch (err) {
    for (const t of all) t.dispose();
    throw err;
  }
  const kept = new Set(dict.values());
  for (const t of all) if (!kept.has(t)) t.dispose();
  const out = new Map<string, Tensor>();
  const seen = new Set<Tensor>();
  for (const [name, t] of dict) {
    out.set(name, seen.has(t) ? new Tensor(N.alias(t.handle)) : t);
    seen.add(t);
  }
  return out;
}

function storageId(pid: unknown, path: string): StorageId {
  if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5 || typeof pid[2] !== "string") {
    return fail(path, `persistent id ${String(pid)} is not ('storage', type, key, location, numel[, view])`);
  }
  const [, type, key, , numel, view] = pid as [string, unknown, string, unknown, unknown, unknown];
  if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0) {
    return fail(path, `storage ${key} has element count ${String(numel)} (expected a non-negative integer)`);
  }
  if (view === undefined || view === null) return { type, key, numel };
  if (!Array.isArray(view) || view.length !== 3 || typeof view[1] !== "number" || typeof view[2] !== "number") {
    return fail(path, `storage ${key} has malformed view metadata (expected (view_key, offset, size))`);
  }
  return { type, key, numel, view: { offset: view[1], numel: view[2] } };
}

function readZipFormat(buf: Buffer, path: string, rb: TensorRebuilder): unknown {
  const zip = new ZipArchive(buf, path);
  const names = zip.names();
  if (names.some((n) => /^[^/]+\/constants\.pkl$/.test(n))) {
    fail(path, "is a TorchScript archive (torch.jit.save); save the model's state_dict() with torch.save instead");
  }
  const pkls = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) fail(path, `expected one <archive>/data.pkl entry in the zip archive, found ${pkls.length}`);
  const pkl = pkls[0]!;
  const prefix = pkl.slice(0, -"data.pkl".length);
  if (zip.has(`${prefix}byteorder`)) {
    const order = zip.read(`${prefix}byteorder`).toString("latin1").trim();
    if (order !== "little") fail(path, `stores ${order}-endian data (expected little-endian)`);
  }
  const persistentLoad = (pid: unknown) => {
    const { type, key, numel } = storageId(pid, path);
    const dtype = rb.storageDtype(type);
    return rb.storage(key, dtype, () => {
      // torch.save writes each storage's bytes exactly; any other declared size is damage or a zip bomb, refused
      // before inflating so that memory stays bounded by what the tensors need.
      const entry = `${prefix}data/${key}`;
      const need = numel * elementSize(dtype);
      const declared = zip.size(entry);
      if (declared !== need) {
        fail(
          path,
          `entry ${entry} declares ${declared} bytes but storage ${key} holds ${numel} ${dtype} elements ` +
            `(${need} bytes)`,
        );
      }
      return zip.read(entry);
    });
  };
  return unpickle(zip.read(pkl), 0, { where: `${path} (entry ${pkl})`, persistentLoad, callables: rb.callables }).value;
}

function readLegacyFormat(buf: Buffer, path: string, rb: TensorRebuilder): unknown {
  let pos = 0;
  let magic: unknown;
  try {
    ({ value: magic, end: pos } = unpickle(buf, 0, { where: path }));
  } catch {
    // Whatever stops the first pickle from decoding, the file is not a torch checkpoint; say that instead.
    magic = undefined;
  }
  if (magic !== LEGACY_MAGIC) {
    fail(
      path,
      "not a PyTorch checkpoint (expected a zip archive, or a legacy torch.save file opening with its magic number)",
    );
  }
  const next = (persistentLoad?: (pid: unknown) => unknown): unknown => {
    const r = unpickle(buf, pos, { where: path, persistentLoad });
    pos = r.end;
    return r.value;
  };
  const protocol = next();
  if (protocol !== LEGACY_PROTOCOL)
    fail(path, `legacy format version ${String(protocol)} (expected ${LEGACY_PROTOCOL})`);
  const sysInfo = next();
  if (!(sysInfo instanceof Map)) return fail(path, "the legacy sys_info record is not a dict");
  if (sysInfo.get("little_endian") !== true) fail(path, "was written on a big-endian machine (expected little-endian)");

  // The storages' bytes follow the object pickle, so a first pass only finds its end and each storage's element
  // type; tensors are built in a second pass once the data offsets are known.
  const objectStart = pos;
  const dtypes = new Map<string, DType>();
  next((pid) => {
    const { type, key } = storageId(pid, path);
    dtypes.set(key, rb.storageDtype(type));
    return null;
  });
  const keys = next();
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
    return fail(path, "the legacy storage key list is not a list of strings");
  }
  const data = new Map<string, Buffer>();
  for (const key of keys as string[]) {
    const dtype = dtypes.get(key) ?? fail(path, `storage ${key} is listed but no tensor uses it`);
    if (pos + 8 > buf.length) fail(path, `truncated: the element count of storage ${key} is missing at byte ${pos}`);
    const count = buf.readBigUInt64LE(pos);
    const end = pos + 8 + Number(count) * elementSize(dtype);
    if (end > buf.length) fail(path, `truncated: storage ${key} (${count} ${dtype} elements) ends past the file`);
    data.set(key, buf.subarray(pos + 8, end));
    pos = end;
  }
  return unpickle(buf, objectStart, {
    where: path,
    callables: rb.callables,
    persistentLoad: (pid) => {
      const { type, key, view } = storageId(pid, path);
      const bytes = () => data.get(key) ?? fail(path, `storage ${key} is used but its data is missing`);
      return rb.storage(key, rb.storageDtype(type), bytes, view);
    },
  }).value;
}
