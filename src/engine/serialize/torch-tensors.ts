/**
 * Turns the storages and `_rebuild_tensor*` calls of a torch pickle into engine tensors.
 *
 * Each storage becomes one flat base tensor, created from the file's bytes on first use; every tensor over it is
 * `asStrided(base, size, stride, offset)` made contiguous, so views sharing a storage (non-zero offsets, transposed
 * or stepped strides) read the right elements. The rebuilder owns the bases and the tensors it made until the load
 * ends: `releaseStorages()` after success (the tensors keep the memory they need), `disposeAll()` after a failure.
 */
import { TasksrError } from "../../errors.js";
import { DTYPE_CODE, type DType } from "../dtype.js";
import { type Handle, N } from "../native.js";
import { Tensor } from "../tensor.js";
import { type PickleCallable, PickleGlobal } from "./pickle.js";

const ELEMENT_SIZE: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** Legacy typed storage classes (`torch.FloatStorage`, or `torch.cuda.FloatStorage` in old CUDA checkpoints). */
const STORAGE_CLASSES: Readonly<Record<string, DType>> = {
  FloatStorage: "float32",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  DoubleStorage: "float64",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

/** dtype globals (`torch.float32`, and the aliases torch also exports) for storages tagged with a dtype. */
const TORCH_DTYPES: Readonly<Record<string, DType>> = {
  float32: "float32",
  float: "float32",
  float16: "float16",
  half: "float16",
  bfloat16: "bfloat16",
  float64: "float64",
  double: "float64",
  int64: "int64",
  long: "int64",
  int32: "int32",
  int: "int32",
  int16: "int16",
  short: "int16",
  int8: "int8",
  uint8: "uint8",
  bool: "bool",
};

export const elementSize = (d: DType): number => ELEMENT_SIZE[d];

/** A storage (or, in legacy files, a slice of one) that tensors index into; offset and numel count elements. */
export class Storage {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly base: Handle,
    readonly offset: number,
    readonly numel: number,
  ) {}
}

const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isIndexList = (v: unknown): v is number[] => Array.isArray(v) && v.every(isIndex);

export class TensorRebuilder {
  readonly #where: string;
  readonly #bases = new Map<string, { dtype: DType; handle: Handle; numel: number }>();
  readonly #created: Tensor[] = [];

  /** Functions a torch pickle calls to rebuild tensors, keyed by qualified name. */
  readonly callables: ReadonlyMap<string, PickleCallable>;

  /** `where` (the file path) names the source in errors. */
  constructor(where: string) {
    this.#where = where;
    const rebuild: PickleCallable = (args) => this.#rebuild(args);
    // A Parameter is its data tensor plus requires_grad and hooks, which weights loaded for inference do not need.
    const parameter: PickleCallable = ([data]) =>
      data instanceof Tensor ? data : this.#fail("_rebuild_parameter got no tensor");
    this.callables = new Map([
      ["torch._utils._rebuild_tensor_v2", rebuild],
      ["torch._utils._rebuild_tensor", rebuild],
      ["torch._utils._rebuild_parameter", parameter],
      ["torch._utils._rebuild_parameter_with_state", parameter],
    ]);
  }

  /** The element type of a storage type in a persistent id: a typed storage class, UntypedStorage, or a dtype. */
  storageDtype(type: unknown): DType {
    if (type instanceof PickleGlobal) {
      const { module, name } = type;
      if ((module === "torch" || module === "torch.cuda") && Object.hasOwn(STORAGE_CLASSES, name)) {
        return STORAGE_CLASSES[name]!;
      }
      if (module === "torch" && Object.hasOwn(TORCH_DTYPES, name)) return TORCH_DTYPES[name]!;
      if ((module === "torch" || module === "torch.storage") && name === "UntypedStorage") return "uint8";
    }
    const known = Object.keys(STORAGE_CLASSES).map((n) => `torch.${n}`);
    return this.#fail(`storage type ${String(type)} is not supported (expected one of ${known.join(", ")})`);
  }

  /**
   * The storage `key` holding `dtype` elements. Its bytes are fetched on first use only; `view` restricts it to
   * `numel` elements from `offset` (legacy storage views).
   */
  storage(key: string, dtype: DType, bytes: () => Uint8Array, view?: { offset: number; numel: number }): Storage {
    let base = this.#bases.get(key);
    if (base === undefined) {
      const data = bytes();
      const size = ELEMENT_SIZE[dtype];
      if (data.length % size !== 0) {
        this.#fail(`storage ${key} has ${data.length} bytes, not a whole number of ${dtype} elements`);
      }
      const numel = data.length / size;
      base = { dtype, handle: N.fromBuffer(data, [numel], DTYPE_CODE[dtype]), numel };
      this.#bases.set(key, base);
    }
    if (base.dtype !== dtype) this.#fail(`storage ${key} is used both as ${base.dtype} and as ${dtype}`);
    const { offset, numel } = view ?? { offset: 0, numel: base.numel };
    if (!isIndex(offset) || !isIndex(numel) || offset + numel > base.numel) {
      this.#fail(`view [${offset}, +${numel}) of storage ${key} exceeds its ${base.numel} elements`);
    }
    return new Storage(key, dtype, base.handle, offset, numel);
  }

  /** Frees the storage base tensors; the rebuilt tensors keep what they reference. */
  releaseStorages(): void {
    for (const b of this.#bases.values()) N.dispose(b.handle);
    this.#bases.clear();
  }

  /** Frees everything created so far (after a failed load). */
  disposeAll(): void {
    for (const t of this.#created) t.dispose();
    this.#created.length = 0;
    this.releaseStorages();
  }

  /** `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`, or v1's first four. */
  #rebuild(args: unknown[]): Tensor {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof Storage) || !isIndex(offset) || !isIndexList(size) || !isIndexList(stride)) {
      return this.#fail("_rebuild_tensor expects (storage, offset, size, stride, ...) with non-negative integers");
    }
    if (size.length !== stride.length) this.#fail(`tensor size [${size}] and stride [${stride}] differ in rank`);
    const numel = size.reduce((a, b) => a * b, 1);
    const last = size.reduce((acc, n, i) => acc + (n - 1) * stride[i]!, offset);
    if (numel > 0 && last >= storage.numel) {
      this.#fail(
        `tensor of size [${size}], stride [${stride}] at offset ${offset} reads past storage ${storage.key} ` +
          `(${storage.numel} elements)`,
      );
    }
    const view = N.asStrided(storage.base, size, stride, storage.offset + offset);
    let h: Handle;
    try {
      h = N.contiguous(view);
    } finally {
      N.dispose(view);
    }
    const t = new Tensor(h);
    this.#created.push(t);
    return t;
  }

  #fail(msg: string): never {
    throw new TasksrError("E_BAD_FILE", `${this.#where}: ${msg}`);
  }
}
