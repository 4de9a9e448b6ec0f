/**
 * Every metric is an accumulator: `update(...)` adds data, `compute()` reads the result without consuming it,
 * `merge(other)` folds in an accumulator filled elsewhere (another worker, another shard) so that merging and then
 * computing equals computing over all the data, and `reset()` empties it.
 *
 * Accumulators filled in other processes (distributed evaluation) travel as JSON: `state()` is a plain-JSON snapshot
 * of the data and `mergeState(s)` folds such a snapshot in exactly as `merge` folds the accumulator it came from.
 * A state is `{settings, ...data}`: `settings` are the constructor choices that shape the data (class count,
 * protocol, ground-truth size), checked on merging so that data of a differently built accumulator is refused
 * instead of being mixed in. The helpers below write and check the parts of a state.
 */
import { TasksrError } from "../errors.js";

export interface Accumulator<Result> {
  compute(): Result;
  /** Adds `other`'s data to this accumulator (`other` is left unchanged). Both must have the same settings. */
  merge(other: this): void;
  /**
   * JSON snapshot of the accumulated data (plain objects, arrays, numbers and strings): JSON.parse(JSON.stringify(s))
   * deep-equals it. Taking it leaves the accumulator unchanged.
   */
  state(): unknown;
  /**
   * Adds the data of `s`, a `state()` of an accumulator with the same settings, exactly as `merge` adds that
   * accumulator's. A state that does not fit (another class's, other settings, a malformed field) is E_TENSOR_ARG and
   * leaves this accumulator unchanged.
   */
  mergeState(s: unknown): void;
  reset(): void;
}

/**
 * A number in a state. JSON has no NaN, ±Infinity or -0 (JSON.stringify writes null, null and 0), so those travel as
 * these strings: a basicsr PSNR sum, for one, is +Infinity once an image is identical to its reference.
 */
export type StateNumber = number | "NaN" | "Infinity" | "-Infinity" | "-0";

const SPECIAL = new Map<unknown, number>([
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  ["-0", -0],
]);

export function stateNumber(v: number): StateNumber {
  if (Object.is(v, -0)) return "-0";
  return Number.isFinite(v) ? v : (String(v) as "NaN" | "Infinity" | "-Infinity");
}

/** A typed (or plain) array as state numbers. */
export function stateNumbers(a: ArrayLike<number>): StateNumber[] {
  return Array.from(a, stateNumber);
}

/** Range a state number must fall in: any number, a finite one, an integer, or a count (non-negative integer). */
export type StateNumberKind = "number" | "finite" | "integer" | "count";

const KIND_TEXT: Record<StateNumberKind, string> = {
  number: 'a number (NaN, Infinity, -Infinity and -0 as strings: "NaN", ...)',
  finite: "a finite number",
  integer: "an integer",
  count: "a non-negative integer",
};

function decode(v: unknown, kind: StateNumberKind): number | undefined {
  const x = typeof v === "number" ? v : SPECIAL.get(v);
  if (x === undefined) return undefined;
  if (kind === "finite" && !Number.isFinite(x)) return undefined;
  if ((kind === "integer" || kind === "count") && !Number.isInteger(x)) return undefined;
  if (kind === "count" && x < 0) return undefined;
  return x;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** E_TENSOR_ARG for a state `where` (e.g. "ConfusionMatrix.mergeState") cannot merge: what it expected, what came. */
export function badState(where: string, expected: string, got: unknown): TasksrError {
  return new TasksrError("E_TENSOR_ARG", `${where}: expected ${expected}, got ${show(got)}`);
}

/** `v` as an object, for the parts of a state that are records. */
export function stateRecord(v: unknown, where: string, expected: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badState(where, expected, v);
  return v as Record<string, unknown>;
}

/** `v` as an array (of `length` entries when given). */
export function stateArray(v: unknown, where: string, expected: string, length?: number): unknown[] {
  if (!Array.isArray(v) || (length !== undefined && v.length !== length)) throw badState(where, expected, v);
  return v;
}

/**
 * The fields of state `s` once it is known to be a state whose `settings` are `settings` (compared field by field as
 * JSON, so key order does not matter).
 */
export function stateFields(s: unknown, where: string, settings: Record<string, unknown>): Record<string, unknown> {
  const r = stateRecord(s, where, "a state {settings, ...}");
  const got = stateRecord(r.settings, where, `settings ${show(settings)}`);
  const keys = Object.keys(settings);
  const same =
    Object.keys(got).length === keys.length &&
    keys.every((k) => JSON.stringify(got[k]) === JSON.stringify(settings[k]));
  if (!same) throw badState(where, `settings ${show(settings)} (an accumulator built alike)`, got);
  return r;
}

/** `r[key]`, a state number of `kind`, decoded. */
export function numberField(
  r: Record<string, unknown>,
  key: string,
  where: string,
  kind: StateNumberKind = "number",
): number {
  const x = decode(r[key], kind);
  if (x === undefined) throw badState(where, `${key}: ${KIND_TEXT[kind]}`, r[key]);
  return x;
}

/** `r[key]`, an array of state numbers of `kind` (`length` of them when given), decoded. */
export function numbersField(
  r: Record<string, unknown>,
  key: string,
  where: string,
  o: { length?: number; kind?: StateNumberKind } = {},
): number[] {
  const kind = o.kind ?? "number";
  const list = stateArray(r[key], where, `${key}: an array of ${o.length ?? "any number of"} numbers`, o.length);
  return list.map((v, i) => {
    const x = decode(v, kind);
    if (x === undefined) throw badState(where, `${key}[${i}]: ${KIND_TEXT[kind]}`, v);
    return x;
  });
}
