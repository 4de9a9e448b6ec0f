/**
 * Typed registries of architectures. Each architecture file calls `defineArch` once with a zod schema for its
 * options; `src/models/index.ts` imports every architecture file explicitly (no file-system discovery).
 * Unknown names fail listing the known ones; duplicate names fail at definition.
 */
import type { z } from "zod";
import { TasksrError } from "../errors.js";
import type { Module } from "../nn/module.js";

export type ArchKind = "sr" | "task.classification" | "task.segmentation" | "task.detection" | "backbone";

export interface ArchEntry<S extends z.ZodType = z.ZodType> {
  kind: ArchKind;
  name: string;
  description: string;
  schema: S;
  build: (options: z.output<S>) => Module<never[], unknown>;
}

const registry = new Map<string, ArchEntry>();

export function defineArch<S extends z.ZodType>(entry: ArchEntry<S>): void {
  if (registry.has(entry.name)) throw new TasksrError("E_CONFIG", `architecture "${entry.name}" is defined twice`);
  registry.set(entry.name, entry as unknown as ArchEntry);
}

export function getArch(name: string, kind?: ArchKind): ArchEntry {
  const e = registry.get(name);
  if (e === undefined || (kind !== undefined && e.kind !== kind)) {
    const known = listArchs(kind).map((a) => a.name);
    throw new TasksrError(
      "E_UNKNOWN_NAME",
      `unknown ${kind ?? "architecture"} "${name}"; known: ${known.join(", ") || "(none)"}`,
    );
  }
  return e;
}

export function listArchs(kind?: ArchKind): ArchEntry[] {
  return [...registry.values()]
    .filter((e) => kind === undefined || e.kind === kind)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Validates `options` with the architecture's schema (errors name the field) and builds the network. */
export function buildArch(name: string, options: unknown = {}, kind?: ArchKind): Module<never[], unknown> {
  const e = getArch(name, kind);
  const parsed = e.schema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new TasksrError("E_CONFIG", `options of "${name}": ${issues}`);
  }
  return e.build(parsed.data);
}
