/**
 * Small, fast, seedable PRNG for data work (augmentation and synthetic data), independent of the engine's
 * generators so that decoding and augmentation need no native calls.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's "small fast chaotic" generator, 128-bit state, passes PractRand);
 * seeds are expanded with splitmix32 so that nearby keys such as (seed, epoch, index) and (seed, epoch, index + 1)
 * give unrelated streams. One stream per sample makes augmentation independent of the order in which samples are
 * loaded, which is what keeps results identical for any prefetch depth.
 */
import { check } from "../../errors.js";

/** splitmix32 step: a bijective 32-bit mixer. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds a list of non-negative integer keys (each < 2^53) into one 32-bit hash, order-sensitively. */
function hashKeys(keys: readonly number[]): number {
  let h = 0x243f6a88;
  for (const k of keys) {
    check(Number.isSafeInteger(k) && k >= 0, () => `rng keys must be non-negative safe integers, got ${k}`, "E_CONFIG");
    h = mix32(h ^ (k >>> 0));
    h = mix32(h ^ Math.floor(k / 0x100000000));
  }
  return h;
}

export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A stream determined by `keys`, e.g. `new Rng(seed, epoch, index)`. */
  constructor(...keys: number[]) {
    const h = hashKeys(keys);
    this.#a = mix32(h);
    this.#b = mix32(this.#a ^ 0x6a09e667);
    this.#c = mix32(this.#b ^ 0xbb67ae85);
    this.#d = 1;
    // Discard the first outputs: sfc32 needs a few rounds to decorrelate from its seed.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** Uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.uint32() / 0x100000000;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both inclusive, as Python's random.randint). */
  int(lo: number, hi: number): number {
    check(Number.isInteger(lo) && Number.isInteger(hi) && hi >= lo, () => `int(${lo}, ${hi}): empty range`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** true with probability p. */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T {
    check(items.length > 0, () => "pick(): empty array");
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Standard normal sample (Box-Muller; one draw of two uniforms per call, so the stream stays simple to reason about). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns `items`. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}
