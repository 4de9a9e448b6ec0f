/**
 * An unpickler for the binary pickle protocols 2 to 5 (the opcodes Python's pickler emits at those protocols, plus
 * the Python 2 string opcodes found in old checkpoints). It builds plain JS values and never runs code:
 *
 * - dict → Map (insertion order and non-string keys kept), list and tuple → array, set/frozenset → Set,
 *   str → string, bytes/bytearray → Uint8Array, bool → boolean, None → null, float → number,
 *   int → number, or bigint when its magnitude exceeds 2^53.
 * - A reference to a global (`GLOBAL`, `STACK_GLOBAL`) is a PickleGlobal. Calling one (`REDUCE`, `NEWOBJ`) runs the
 *   matching entry of `callables` or of the built-in table (OrderedDict, set, bytes, ...); any other class becomes an
 *   inert PickledObject, so checkpoints holding e.g. `argparse.Namespace` still load.
 * - `BINPERSID` hands the persistent id to `persistentLoad` (how torch refers to tensor storages).
 *
 * Format reference: CPython's Lib/pickle.py and Lib/pickletools.py.
 */
import { TasksrError } from "../../errors.js";
import { BUILTIN_CALLABLES } from "./pickle-builtins.js";

/** A module-level name referenced by the pickle (a class, a function, a dtype such as `torch.float32`). */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
  toString(): string {
    return this.qualname;
  }
}

/** An instance of a class the unpickler does not model: the class name, constructor arguments and `__setstate__` state. */
export interface PickledObject {
  __class__: string;
  args: unknown[];
  kwargs?: Map<unknown, unknown>;
  state: unknown;
  /** Items set on an instance of a dict subclass. */
  dictitems?: Map<unknown, unknown>;
  /** Items appended to an instance of a list subclass. */
  listitems?: unknown[];
}

export const isPickledObject = (v: unknown): v is PickledObject =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype && "__class__" in v;

/** Implements a callable global: receives the call's positional arguments and a function that raises E_BAD_FILE. */
export type PickleCallable = (args: unknown[], fail: (msg: string) => never) => unknown;

export interface UnpickleOptions {
  /** Names the source in errors (a file path, or a path plus archive entry). */
  where: string;
  persistentLoad?: (pid: unknown) => unknown;
  /** Callables by qualified name (`module.name`); they take precedence over the built-in table. */
  callables?: ReadonlyMap<string, PickleCallable>;
}

const MAX_SAFE = 2n ** 53n;
const HIGHEST_PROTOCOL = 5;
// Python 3 picklers write Python 2 module names at protocols < 3 so that Python 2 can read the result.
const PY2_MODULES: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" };

const describe = (v: unknown): string =>
  v instanceof PickleGlobal ? v.qualname : isPickledObject(v) ? v.__class__ : v === null ? "None" : typeof v;

/** Unpickles the pickle starting at `start` in `buf`; returns the value and the offset just past its STOP opcode. */
export function unpickle(buf: Buffer, start: number, opts: UnpickleOptions): { value: unknown; end: number } {
  return new Unpickler(buf, start, opts).run();
}

class Unpickler {
  #pos: number;
  #op = 0;
  readonly #stack: unknown[] = [];
  readonly #marks: number[] = [];
  readonly #memo = new Map<number, unknown>();

  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly opts: UnpickleOptions,
  ) {
    this.#pos = start;
  }

  readonly fail: (msg: string) => never = (msg) => {
    throw new TasksrError("E_BAD_FILE", `${this.opts.where}: bad pickle data: ${msg} (opcode at byte ${this.#op})`);
  };

  run(): { value: unknown; end: number } {
    const s = this.#stack;
    for (;;) {
      this.#op = this.#pos;
      const code = this.#u8();
      switch (code) {
        case 0x80: {
          const proto = this.#u8();
          if (proto > HIGHEST_PROTOCOL) this.fail(`pickle protocol ${proto} (expected at most ${HIGHEST_PROTOCOL})`);
          break;
        }
        case 0x95: // FRAME: a length hint for buffered readers; the data is all in memory already.
          this.#take(8);
          break;
        case 0x2e: // STOP
          return { value: this.#pop(), end: this.#pos };
        case 0x28: // MARK
          this.#marks.push(s.length);
          break;
        case 0x30: // POP (an empty frame above a mark means the mark itself is popped)
          if (this.#marks.length > 0 && this.#marks[this.#marks.length - 1] === s.length) this.#marks.pop();
          else this.#pop();
          break;
        case 0x31: // POP_MARK
          this.#popMark();
          break;
        case 0x4e: // NONE
          s.push(null);
          break;
        case 0x88: // NEWTRUE
          s.push(true);
          break;
        case 0x89: // NEWFALSE
          s.push(false);
          break;
        case 0x4b: // BININT1
          s.push(this.#u8());
          break;
        case 0x4d: // BININT2
          s.push(this.#take(2).readUInt16LE(0));
          break;
        case 0x4a: // BININT
          s.push(this.#take(4).readInt32LE(0));
          break;
        case 0x8a: // LONG1
          s.push(this.#long(this.#u8()));
          break;
        case 0x8b: // LONG4
          s.push(this.#long(this.#size(4)));
          break;
        case 0x47: // BINFLOAT (big-endian)
          s.push(this.#take(8).readDoubleBE(0));
          break;
        case 0x58: // BINUNICODE
        case 0x54: // BINSTRING (Python 2 str, decoded as utf-8 like torch.load does)
          s.push(this.#take(this.#size(4)).toString("utf8"));
          break;
        case 0x8c: // SHORT_BINUNICODE
        case 0x55: // SHORT_BINSTRING
          s.push(this.#take(this.#u8()).toString("utf8"));
          break;
        case 0x8d: // BINUNICODE8
          s.push(this.#take(this.#size(8)).toString("utf8"));
          break;
        case 0x43: // SHORT_BINBYTES
          s.push(new Uint8Array(this.#take(this.#u8())));
          break;
        case 0x42: // BINBYTES
          s.push(new Uint8Array(this.#take(this.#size(4))));
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          s.push(new Uint8Array(this.#take(this.#size(8))));
          break;
        case 0x7d: // EMPTY_DICT
          s.push(new Map());
          break;
        case 0x5d: // EMPTY_LIST
        case 0x29: // EMPTY_TUPLE
          s.push([]);
          break;
        case 0x8f: // EMPTY_SET
          s.push(new Set());
          break;
        case 0x74: // TUPLE
          s.push(this.#popMark());
          break;
        case 0x85: // TUPLE1
          s.push([this.#pop()]);
          break;
        case 0x86: // TUPLE2
          s.push(this.#popN(2));
          break;
        case 0x87: // TUPLE3
          s.push(this.#popN(3));
          break;
        case 0x91: // FROZENSET
          s.push(new Set(this.#popMark()));
          break;
        case 0x61: // APPEND
          this.#extend([this.#pop()]);
          break;
        case 0x65: // APPENDS
          this.#extend(this.#popMark());
          break;
        case 0x73: // SETITEM
          this.#setItems(this.#popN(2));
          break;
        case 0x75: // SETITEMS
          this.#setItems(this.#popMark());
          break;
        case 0x90: {
          // ADDITEMS
          const items = this.#popMark();
          const set = this.#top();
          if (!(set instanceof Set)) return this.fail(`ADDITEMS on ${describe(set)} (expected a set)`);
          for (const x of items) set.add(x);
          break;
        }
        case 0x71: // BINPUT
          this.#memo.set(this.#u8(), this.#top());
          break;
        case 0x72: // LONG_BINPUT
          this.#memo.set(this.#take(4).readUInt32LE(0), this.#top());
          break;
        case 0x94: // MEMOIZE
          this.#memo.set(this.#memo.size, this.#top());
          break;
        case 0x68: // BINGET
          s.push(this.#get(this.#u8()));
          break;
        case 0x6a: // LONG_BINGET
          s.push(this.#get(this.#take(4).readUInt32LE(0)));
          break;
        case 0x63: {
          // GLOBAL: "module\nname\n"
          const module = this.#line();
          s.push(this.#global(module, this.#line()));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const [module, name] = this.#popN(2);
          if (typeof module !== "string" || typeof name !== "string") this.fail("STACK_GLOBAL names are not strings");
          s.push(this.#global(module as string, name as string));
          break;
        }
        case 0x52: // REDUCE
        case 0x81: {
          // NEWOBJ: cls.__new__(cls, *args); for our purposes the same as calling cls
          const [func, args] = this.#popN(2);
          s.push(this.#call(func, args));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          const [cls, args, kwargs] = this.#popN(3);
          if (!(kwargs instanceof Map)) return this.fail("NEWOBJ_EX keyword arguments are not a dict");
          s.push(this.#call(cls, args, kwargs));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.#pop();
          const obj = this.#top();
          // Attribute state of natively represented values (an OrderedDict's `_metadata`, attributes set on a
          // tensor) has no place in their JS form and is dropped; inert objects keep it.
          if (isPickledObject(obj)) obj.state = state;
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = this.#pop();
          const load = this.opts.persistentLoad ?? this.fail("persistent id found but no loader was given");
          s.push(load(pid));
          break;
        }
        default:
          return this.fail(
            `unsupported opcode 0x${code.toString(16).padStart(2, "0")} (${JSON.stringify(String.fromCharCode(code))})`,
          );
      }
    }
  }

  #call(func: unknown, args: unknown, kwargs?: Map<unknown, unknown>): unknown {
    if (!Array.isArray(args)) return this.fail(`call of ${describe(func)} with arguments that are not a tuple`);
    if (func instanceof PickleGlobal) {
      const fn = this.opts.callables?.get(func.qualname) ?? BUILTIN_CALLABLES.get(func.qualname);
      if (fn !== undefined && (kwargs === undefined || kwargs.size === 0)) return fn(args, this.fail);
    }
    const obj: PickledObject = { __class__: describe(func), args, state: null };
    if (kwargs !== undefined && kwargs.size > 0) obj.kwargs = kwargs;
    return obj;
  }

  #global(module: string, name: string): PickleGlobal {
    return new PickleGlobal(PY2_MODULES[module] ?? module, name);
  }

  #extend(items: unknown[]): void {
    const target = this.#top();
    let list: unknown[];
    if (Array.isArray(target)) {
      list = target;
    } else if (isPickledObject(target)) {
      target.listitems ??= [];
      list = target.listitems;
    } else {
      this.fail(`APPEND to ${describe(target)} (expected a list)`);
    }
    for (const x of items) list.push(x);
  }

  #setItems(flat: unknown[]): void {
    const target = this.#top();
    let map: Map<unknown, unknown>;
    if (target instanceof Map) {
      map = target;
    } else if (isPickledObject(target)) {
      target.dictitems ??= new Map();
      map = target.dictitems;
    } else {
      this.fail(`SETITEM on ${describe(target)} (expected a dict)`);
    }
    if (flat.length % 2 !== 0) this.fail("SETITEMS with an odd number of keys and values");
    for (let i = 0; i < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
  }

  /** Little-endian two's-complement integer of `n` bytes. */
  #long(n: number): number | bigint {
    const bytes = this.#take(n);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
    if (bytes[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v > MAX_SAFE || v < -MAX_SAFE ? v : Number(v);
  }

  #get(idx: number): unknown {
    if (!this.#memo.has(idx)) this.fail(`memo entry ${idx} read before it was written`);
    return this.#memo.get(idx);
  }

  #top(): unknown {
    const floor = this.#marks[this.#marks.length - 1] ?? 0;
    if (this.#stack.length <= floor) this.fail("stack underflow");
    return this.#stack[this.#stack.length - 1];
  }

  #pop(): unknown {
    this.#top();
    return this.#stack.pop();
  }

  #popN(n: number): unknown[] {
    const floor = this.#marks[this.#marks.length - 1] ?? 0;
    if (this.#stack.length - n < floor) this.fail("stack underflow");
    return this.#stack.splice(this.#stack.length - n, n);
  }

  #popMark(): unknown[] {
    const mark = this.#marks.pop() ?? this.fail("no MARK on the stack");
    return this.#stack.splice(mark);
  }

  #take(n: number): Buffer {
    if (this.#pos + n > this.buf.length) {
      this.fail(`truncated: ${n} bytes needed at byte ${this.#pos}, the data ends at byte ${this.buf.length}`);
    }
    const out = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  #u8(): number {
    return this.#take(1)[0]!;
  }

  /** An unsigned little-endian length or index of `width` bytes. */
  #size(width: 4 | 8): number {
    const b = this.#take(width);
    const v = width === 4 ? b.readUInt32LE(0) : Number(b.readBigUInt64LE(0));
    if (v > this.buf.length) this.fail(`length ${v} exceeds the data size`);
    return v;
  }

  #line(): string {
    const end = this.buf.indexOf(0x0a, this.#pos);
    if (end < 0) this.fail("truncated: unterminated line");
    const text = this.buf.toString("utf8", this.#pos, end);
    this.#pos = end + 1;
    return text;
  }
}
