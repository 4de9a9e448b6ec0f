/** Containers whose children are named like torch.nn's ("0", "1", ... for Sequential/ModuleList). */
import type { Tensor } from "../../engine/tensor.js";
import { Module } from "../module.js";

type Layer = Module<[Tensor], Tensor>;

/** Applies its children in order. Each intermediate is freed as soon as the next layer has consumed it. */
export class Sequential extends Module {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    this.layers = layers.map((m, i) => this.module(String(i), m));
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Layer {
    const m = this.layers.at(i);
    if (m === undefined) throw new RangeError(`Sequential index ${i} out of range (${this.layers.length} layers)`);
    return m;
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.layers) {
      const next = m.call(h);
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    return h;
  }
}

/** An indexable list of modules ("0", "1", ...); it has no forward of its own. */
export class ModuleList<M extends Module<never[], unknown> = Layer> extends Module<never[], never> {
  readonly items: M[];
  constructor(items: readonly M[] = []) {
    super();
    this.items = items.map((m, i) => this.module(String(i), m));
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items.at(i);
    if (m === undefined) throw new RangeError(`ModuleList index ${i} out of range (${this.items.length} modules)`);
    return m;
  }
  forward(): never {
    throw new Error("ModuleList has no forward; call its items");
  }
}

/** Modules by name; it has no forward of its own. */
export class ModuleDict<M extends Module<never[], unknown> = Layer> extends Module<never[], never> {
  readonly items: ReadonlyMap<string, M>;
  constructor(items: Record<string, M>) {
    super();
    this.items = new Map(Object.entries(items).map(([k, m]) => [k, this.module(k, m)]));
  }
  get(name: string): M {
    const m = this.items.get(name);
    if (m === undefined) throw new RangeError(`ModuleDict has no "${name}" (has ${[...this.items.keys()].join(", ")})`);
    return m;
  }
  forward(): never {
    throw new Error("ModuleDict has no forward; call its items");
  }
}
