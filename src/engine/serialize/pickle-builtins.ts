/**
 * The Python built-ins a pickle calls to rebuild plain values: how protocols 2 to 5 encode OrderedDict, set,
 * frozenset, bytes and bytearray when no dedicated opcode exists (see save_bytes, save_set and
 * OrderedDict.__reduce__ in CPython).
 */
import type { PickleCallable } from "./pickle.js";

/** `bytes()`, `bytes(b)`, `bytearray(b)`, and protocol 2's `_codecs.encode(text, "latin1")` for bytes objects. */
const toBytes: PickleCallable = (args, fail) => {
  const [src, encoding] = args;
  if (src === undefined) return new Uint8Array(0);
  if (src instanceof Uint8Array) return new Uint8Array(src);
  // Latin-1 text holds one byte per code point; it is the only encoding Python's pickler uses for bytes.
  if (typeof src === "string" && (encoding === "latin1" || encoding === "latin-1")) {
    return new Uint8Array(Buffer.from(src, "latin1"));
  }
  return fail(`bytes from ${typeof src} with encoding ${String(encoding)} (expected bytes, or latin-1 text)`);
};

/** `set(list)` and `frozenset(list)`, as written below protocol 4. */
const toSet: PickleCallable = ([items], fail) =>
  Array.isArray(items) ? new Set(items) : fail("set from an argument that is not a list");

/** `OrderedDict()`: the items follow as SETITEMS. */
const toOrderedDict: PickleCallable = (args, fail) =>
  args.length === 0 ? new Map() : fail("OrderedDict called with arguments (expected none; items follow)");

export const BUILTIN_CALLABLES: ReadonlyMap<string, PickleCallable> = new Map([
  ["collections.OrderedDict", toOrderedDict],
  ["builtins.set", toSet],
  ["builtins.frozenset", toSet],
  ["builtins.bytes", toBytes],
  ["builtins.bytearray", toBytes],
  ["_codecs.encode", toBytes],
]);
