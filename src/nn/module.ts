/**
 * Module: the base of every network. Parameters, buffers and children are registered under explicit names, so
 * `stateDict()` keys are exactly PyTorch/torchvision's (`layer1.0.conv1.weight`, `bn1.running_mean`, ...) and
 * official weights load by name.
 *
 * ```ts
 * class Block extends Module<[Tensor], Tensor> {
 *   readonly conv: Conv2d;
 *   readonly scale: Tensor;
 *   constructor(c: number) {
 *     super();
 *     this.conv = this.module("conv", new Conv2d(c, c, 3, { padding: 1 }));
 *     this.scale = this.param("scale", ones([1]));
 *   }
 *   forward(x: Tensor): Tensor { return x.add(F.relu(this.conv.call(x)).mul(this.scale)); } // [N, c, H, W]
 * }
 * ```
 * `call()` runs `forward()` inside a scope, so every intermediate tensor of the layer is freed when it returns.
 * Parameters and buffers are owned by the module: `dispose()` frees them.
 */
import { noGrad } from "../engine/autograd.js";
import { DTYPE_CODE, type DType, isFloating } from "../engine/dtype.js";
import { N } from "../engine/native.js";
import { keep, scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";

export interface LoadReport {
  /** Keys the module has but the state dict lacks. */
  missing: string[];
  /** Keys the state dict has but the module lacks. */
  unexpected: string[];
  /** Keys present in both with different shapes. */
  mismatched: { key: string; expected: readonly number[]; got: readonly number[] }[];
}

export interface LoadOptions {
  /** Fail on any missing, unexpected or mis-shaped key (default true). Non-strict loads what fits. */
  strict?: boolean;
  /** Renames a source key to the module's key, or drops it (null), before matching (third-party layouts). */
  remap?: (key: string) => string | null;
}

export abstract class Module<I extends unknown[] = [Tensor], O = Tensor> {
  /** Training mode (BatchNorm batch statistics, dropout on). Set with train()/eval(). */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, { t: Tensor; persistent: boolean }>();
  readonly #children = new Map<string, Module<never[], unknown>>();

  abstract forward(...args: I): O;

  /** Runs forward() in a scope: intermediates are freed, the outputs survive into the caller's scope. */
  call(...args: I): O {
    return scope(() => this.forward(...args));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Registration (use in field initialisers; the name is the state-dict key component)
  // ---------------------------------------------------------------------------------------------------------------
  protected param(name: string, t: Tensor): Tensor {
    this.#claim(name);
    keep(t);
    t.requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }
  /** A buffer is saved in the state dict unless `persistent` is false. */
  protected buffer(name: string, t: Tensor, persistent = true): Tensor {
    this.#claim(name);
    keep(t);
    this.#buffers.set(name, { t, persistent });
    return t;
  }
  protected module<M extends Module<never[], unknown>>(name: string, m: M): M {
    this.#claim(name);
    this.#children.set(name, m as unknown as Module<never[], unknown>);
    return m;
  }
  #claim(name: string): void {
    if (this.#params.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new TasksrError("E_CONFIG", `${this.constructor.name}: "${name}" registered twice`);
    }
  }
  /** State-dict keys of this module (relative) that loading may ignore, e.g. FrozenBatchNorm's num_batches_tracked. */
  protected ignoredStateKeys(): readonly string[] {
    return [];
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Traversal
  // ---------------------------------------------------------------------------------------------------------------
  namedChildren(): [string, Module<never[], unknown>][] {
    return [...this.#children.entries()];
  }
  /** This module and all descendants with dotted names ("" for this one). */
  namedModules(prefix = ""): [string, Module<never[], unknown>][] {
    const out: [string, Module<never[], unknown>][] = [[prefix, this as unknown as Module<never[], unknown>]];
    for (const [n, c] of this.#children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, t] of m.#params) out.push([prefix ? `${prefix}.${n}` : n, t]);
    }
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, b] of m.#buffers) out.push([prefix ? `${prefix}.${n}` : n, b.t]);
    }
    return out;
  }
  /** Live parameters and persistent buffers by PyTorch key (not copies: do not dispose them). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      const key = (n: string) => (prefix ? `${prefix}.${n}` : n);
      for (const [n, t] of m.#params) out.set(key(n), t);
      for (const [n, b] of m.#buffers) if (b.persistent) out.set(key(n), b.t);
    }
    return out;
  }

  /** Number of parameter elements (all, or only those with requiresGrad). */
  numParameters(trainableOnly = false): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((a, p) => a + p.numel, 0);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Modes and state
  // ---------------------------------------------------------------------------------------------------------------
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Freezes (false) or unfreezes (true) every parameter. */
  requiresGrad_(on: boolean): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = undefined;
  }
  /** Calls fn on this module and every descendant (e.g. custom initialisation). */
  apply(fn: (m: Module<never[], unknown>, name: string) => void): this {
    for (const [n, m] of this.namedModules()) fn(m, n);
    return this;
  }

  /**
   * Moves parameters and buffers to a device and/or casts floating ones to a dtype, in place: references to the
   * parameter objects stay valid (optimizers built before the move keep working).
   */
  to(target: string | DType | { device?: string; dtype?: DType }): this {
    const o =
      typeof target === "string" ? (target in DTYPE_CODE ? { dtype: target as DType } : { device: target }) : target;
    const move = (t: Tensor) => {
      const dtype = o.dtype !== undefined && isFloating(t.dtype) ? DTYPE_CODE[o.dtype] : undefined;
      if (dtype === undefined && (o.device === undefined || o.device === t.device)) return;
      const req = t.requiresGrad;
      const detached = N.detach(t.handle);
      const h = N.to(detached, dtype, o.device, false);
      N.dispose(detached);
      t._replaceHandle(h);
      if (req) t.requiresGrad = true;
    };
    for (const [, m] of this.namedModules()) {
      for (const t of m.#params.values()) move(t);
      for (const b of m.#buffers.values()) move(b.t);
    }
    return this;
  }

  /** Copies values from `sd` into this module's parameters and buffers by key (see LoadOptions). */
  loadStateDict(sd: ReadonlyMap<string, Tensor> | Record<string, Tensor>, o: LoadOptions = {}): LoadReport {
    const strict = o.strict ?? true;
    const source = new Map<string, Tensor>();
    for (const [k, v] of sd instanceof Map ? sd.entries() : Object.entries(sd)) {
      const key = o.remap ? o.remap(k) : k;
      if (key !== null) source.set(key, v);
    }
    const own = this.stateDict();
    const ignored = new Set<string>();
    for (const [prefix, m] of this.namedModules()) {
      for (const k of m.ignoredStateKeys()) ignored.add(prefix ? `${prefix}.${k}` : k);
    }
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
    for (const [k, t] of own) {
      const src = source.get(k);
      if (src === undefined) report.missing.push(k);
      else if (src.shape.join() !== t.shape.join())
        report.mismatched.push({ key: k, expected: t.shape, got: src.shape });
    }
    for (const k of source.keys()) if (!own.has(k) && !ignored.has(k)) report.unexpected.push(k);
    const problems = report.missing.length + report.unexpected.length + report.mismatched.length;
    if (strict && problems > 0)
      throw new TasksrError("E_STATE_DICT", `${this.constructor.name}: ${formatReport(report)}`);
    noGrad(() => {
      for (const [k, t] of own) {
        const src = source.get(k);
        if (src !== undefined && src.shape.join() === t.shape.join()) t.copy_(src);
      }
    });
    return report;
  }

  /** Frees every parameter and buffer of this module and its children. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of m.#params.values()) t.dispose();
      for (const b of m.#buffers.values()) b.t.dispose();
    }
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Human-readable summary of a LoadReport (first 10 keys of each kind). */
export function formatReport(r: LoadReport): string {
  const list = (xs: string[]) => xs.slice(0, 10).join(", ") + (xs.length > 10 ? `, ... (${xs.length} in all)` : "");
  const parts: string[] = [];
  if (r.missing.length) parts.push(`missing keys: ${list(r.missing)}`);
  if (r.unexpected.length) parts.push(`unexpected keys: ${list(r.unexpected)}`);
  if (r.mismatched.length) {
    parts.push(
      `shape mismatches: ${list(r.mismatched.map((m) => `${m.key} (module [${m.expected.join(", ")}], file [${m.got.join(", ")}])`))}`,
    );
  }
  return parts.length ? parts.join("; ") : "all keys matched";
}
