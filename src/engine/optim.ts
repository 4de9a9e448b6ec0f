/**
 * Optimizers with torch.optim semantics: parameter groups with their own hyper-parameters, lr settable per group
 * every step, state save/load. State tensors are owned by the optimizer (freed by dispose()); the update arithmetic
 * runs natively with the same op sequence as PyTorch's single-tensor implementations.
 */
import { check, TasksrError } from "../errors.js";
import { zerosLike } from "./creation.js";
import { N } from "./native.js";
import { keep } from "./scope.js";
import { Tensor } from "./tensor.js";

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}
export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

/** A parameter group: its tensors plus overrides of the optimizer's defaults. */
export type GroupSpec<O> = { params: readonly Tensor[] } & Partial<O>;
export type ParamGroup<O> = { params: Tensor[] } & Required<O>;

/** Serializable optimizer state: named tensors plus JSON metadata (groups' hyper-parameters, step counts). */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  meta: { kind: string; groups: Record<string, unknown>[]; steps: Record<string, number> };
}

type Slot = Record<string, Tensor | undefined>;

export abstract class Optimizer<O extends { lr: number }> {
  readonly paramGroups: ParamGroup<O>[];
  protected readonly slots = new Map<Tensor, Slot>();
  protected readonly steps = new Map<Tensor, number>();
  protected abstract readonly kind: string;

  constructor(params: readonly Tensor[] | readonly GroupSpec<O>[], defaults: Required<O>) {
    const groups: readonly GroupSpec<O>[] =
      params.length > 0 && params[0] instanceof Tensor
        ? [{ params: params as readonly Tensor[] } as GroupSpec<O>]
        : (params as readonly GroupSpec<O>[]);
    this.paramGroups = groups.map((g) => ({ ...defaults, ...g, params: [...g.params] }));
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        check(!seen.has(p), () => `${this.constructor.name}: a parameter appears in more than one group`, "E_CONFIG");
        seen.add(p);
      }
    }
  }

  /** Clears gradients (set to none, as torch's default). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = undefined;
  }

  abstract step(): void;

  /** Sets the learning rate of every group (or of group `index`). */
  setLr(lr: number, index?: number): void {
    if (index === undefined) for (const g of this.paramGroups) g.lr = lr;
    else this.paramGroups[index]!.lr = lr;
  }

  protected slot(p: Tensor): Slot {
    let s = this.slots.get(p);
    if (s === undefined) {
      s = {};
      this.slots.set(p, s);
    }
    return s;
  }

  /** State with positional keys `<group>.<param>.<name>`, like torch's integer parameter ids. */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    const steps: Record<string, number> = {};
    this.paramGroups.forEach((g, gi) => {
      g.params.forEach((p, pi) => {
        const s = this.slots.get(p);
        if (s) for (const [k, v] of Object.entries(s)) if (v) tensors[`${gi}.${pi}.${k}`] = v;
        const n = this.steps.get(p);
        if (n !== undefined) steps[`${gi}.${pi}`] = n;
      });
    });
    const groups = this.paramGroups.map(({ params: _p, ...hp }) => hp as Record<string, unknown>);
    return { tensors, meta: { kind: this.kind, groups, steps } };
  }

  /** Restores state saved by stateDict() for the same parameter layout (tensors are copied). */
  loadStateDict(state: OptimizerState): void {
    if (state.meta.kind !== this.kind) {
      throw new TasksrError(
        "E_STATE_DICT",
        `optimizer state is for ${state.meta.kind}, this optimizer is ${this.kind}`,
      );
    }
    if (state.meta.groups.length !== this.paramGroups.length) {
      throw new TasksrError(
        "E_STATE_DICT",
        `optimizer state has ${state.meta.groups.length} parameter groups, this optimizer has ${this.paramGroups.length}`,
      );
    }
    this.disposeState();
    state.meta.groups.forEach((hp, gi) => {
      Object.assign(this.paramGroups[gi]!, hp);
    });
    for (const [key, t] of Object.entries(state.tensors)) {
      const [gi, pi, name] = key.split(".");
      const p = this.paramGroups[Number(gi)]?.params[Number(pi)];
      if (p === undefined || name === undefined)
        throw new TasksrError("E_STATE_DICT", `optimizer state key ${key} has no parameter`);
      check(
        t.shape.join() === p.shape.join(),
        () => `optimizer state ${key} has shape [${t.shape}], parameter has [${p.shape}]`,
        "E_STATE_DICT",
      );
      this.slot(p)[name] = keep(t.to({ dtype: p.dtype, device: p.device, copy: true }));
    }
    for (const [key, n] of Object.entries(state.meta.steps)) {
      const [gi, pi] = key.split(".");
      const p = this.paramGroups[Number(gi)]?.params[Number(pi)];
      if (p === undefined) throw new TasksrError("E_STATE_DICT", `optimizer step key ${key} has no parameter`);
      this.steps.set(p, n);
    }
  }

  private disposeState(): void {
    for (const s of this.slots.values()) for (const t of Object.values(s)) t?.dispose();
    this.slots.clear();
    this.steps.clear();
  }

  /** Frees the optimizer's state tensors. */
  dispose(): void {
    this.disposeState();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Parameters that currently hold a gradient (torch skips the others). */
function withGrad(params: readonly Tensor[]): Tensor[] {
  return params.filter((p) => {
    const g = p.grad;
    if (g === undefined) return false;
    g.dispose();
    return true;
  });
}

/** Stochastic gradient descent with momentum/dampening/Nesterov and L2 weight decay (torch.optim.SGD). */
export class SGD extends Optimizer<SgdOptions> {
  protected readonly kind = "sgd";
  constructor(params: readonly Tensor[] | readonly GroupSpec<SgdOptions>[], o: SgdOptions) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...o });
    for (const g of this.paramGroups) {
      check(
        !g.nesterov || (g.momentum > 0 && g.dampening === 0),
        () => "SGD: nesterov needs momentum > 0 and dampening 0",
        "E_CONFIG",
      );
    }
  }
  step(): void {
    for (const g of this.paramGroups) {
      const ps = withGrad(g.params);
      if (ps.length === 0) continue;
      const bufs = ps.map((p) => this.slots.get(p)?.momentumBuffer?.handle ?? null);
      const created = N.sgdStep(
        ps.map((p) => p.handle),
        bufs,
        g.lr,
        g.momentum,
        g.dampening,
        g.weightDecay,
        g.nesterov,
        g.maximize,
      );
      created.forEach((h, k) => {
        if (h !== undefined) this.slot(ps[k]!).momentumBuffer = keep(new Tensor(h));
      });
    }
  }
}

class AdamBase extends Optimizer<Required<AdamOptions>> {
  protected readonly kind: string;
  readonly #decoupled: boolean;
  constructor(
    params: readonly Tensor[] | readonly GroupSpec<Required<AdamOptions>>[],
    o: AdamOptions,
    decoupled: boolean,
    defaultWd: number,
  ) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: defaultWd,
      amsgrad: false,
      maximize: false,
      ...o,
    });
    this.#decoupled = decoupled;
    this.kind = decoupled ? "adamw" : "adam";
  }
  step(): void {
    for (const g of this.paramGroups) {
      const ps = withGrad(g.params);
      if (ps.length === 0) continue;
      const m: Tensor[] = [];
      const v: Tensor[] = [];
      const vmax: (Tensor | undefined)[] = [];
      const steps: number[] = [];
      for (const p of ps) {
        const s = this.slot(p);
        s.expAvg ??= keep(zerosLike(p));
        s.expAvgSq ??= keep(zerosLike(p));
        if (g.amsgrad) s.maxExpAvgSq ??= keep(zerosLike(p));
        m.push(s.expAvg);
        v.push(s.expAvgSq);
        vmax.push(s.maxExpAvgSq);
        const n = (this.steps.get(p) ?? 0) + 1;
        this.steps.set(p, n);
        steps.push(n);
      }
      N.adamStep(
        ps.map((p) => p.handle),
        m.map((t) => t.handle),
        v.map((t) => t.handle),
        vmax.map((t) => t?.handle ?? null),
        steps,
        g.lr,
        g.betas[0],
        g.betas[1],
        g.eps,
        g.weightDecay,
        g.amsgrad,
        this.#decoupled,
        g.maximize,
      );
    }
  }
}

/** Adam with L2 weight decay added to the gradient (torch.optim.Adam). */
export class Adam extends AdamBase {
  constructor(params: readonly Tensor[] | readonly GroupSpec<Required<AdamOptions>>[], o: AdamOptions = {}) {
    super(params, o, false, 0);
  }
}
/** Adam with decoupled weight decay (torch.optim.AdamW; default weight decay 0.01 as torch). */
export class AdamW extends AdamBase {
  constructor(params: readonly Tensor[] | readonly GroupSpec<Required<AdamOptions>>[], o: AdamOptions = {}) {
    super(params, o, true, 0.01);
  }
}

/** Rescales gradients so their total `normType`-norm is at most maxNorm; returns the norm before clipping. */
export const clipGradNorm = (params: readonly Tensor[], maxNorm: number, normType = 2): number =>
  N.clipGradNorm(
    params.map((p) => p.handle),
    maxNorm,
    normType,
  );
