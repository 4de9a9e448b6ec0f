/**
 * Field checks for COCO-style JSON: every failure is one E_BAD_FILE naming the source, the entry and the field, and
 * saying what was expected.
 */
import { TasksrError } from "../../errors.js";

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function badField(where: string, path: string, expected: string, got: unknown): TasksrError {
  return new TasksrError("E_BAD_FILE", `${where}: ${path}: expected ${expected}, got ${show(got)}`);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function recordAt(v: unknown, where: string, path: string): Record<string, unknown> {
  if (!isRecord(v)) throw badField(where, path, "an object", v);
  return v;
}

export function arrayAt(v: unknown, where: string, path: string): unknown[] {
  if (!Array.isArray(v)) throw badField(where, path, "an array", v);
  return v;
}

export function numberAt(v: unknown, where: string, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw badField(where, path, "a finite number", v);
  return v;
}

/** [x, y, w, h] (or any 4 finite numbers) written into `out` at `offset`. */
export function boxAt(v: unknown, where: string, path: string, out: Float64Array, offset: number): void {
  if (!Array.isArray(v) || v.length !== 4) throw badField(where, path, "4 numbers [x, y, width, height]", v);
  for (let j = 0; j < 4; j++) out[offset + j] = numberAt(v[j], where, `${path}[${j}]`);
}
