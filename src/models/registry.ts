/**
 * Typed registries of architectures. Each architecture file calls `defineArch` once with a zod schema for its
 * options; `src/models/index.ts` imports every architecture file explicitly (no file-system discovery).
 * Unknown names fail listing the known ones; duplicate names fail at definition.
 */
import type { z } from "zod";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { Module } from "../nn/module.js";
import type { Detector } from "./detection/types.js";
import type { ClassifierOutput, SegmenterOutput, SrNetwork, TaskNetwork } from "./types.js";

/** What a built network of each kind is: `buildArch(name, options, kind)` returns this type, checked at definition. */
export interface ArchNetworks {
  sr: SrNetwork;
  "task.classification": TaskNetwork<ClassifierOutput>;
  "task.segmentation": TaskNetwork<SegmenterOutput>;
  "task.detection": Detector;
  backbone: Module<[Tensor], Tensor>;
}
/** A built-in kind, or `task.<name>` of a task a plug-in defines (its networks are TaskNetworks). */
export type ArchKind = keyof ArchNetworks | `task.${string}`;
export type NetworkOf<K extends ArchKind> = K extends keyof ArchNetworks ? ArchNetworks[K] : TaskNetwork<unknown>;

export interface ArchEntry<K extends ArchKind = ArchKind, S extends z.ZodType = z.ZodType> {
  kind: K;
  name: string;
  description: string;
  schema: S;
  build: (options: z.output<S>) => NetworkOf<K>;
}

const registry = new Map<string, ArchEntry>();

export function defineArch<K extends ArchKind, S extends z.ZodType>(entry: ArchEntry<K, S>): void {
  if (registry.has(entry.name)) throw new TasksrError("E_CONFIG", `architecture "${entry.name}" is defined twice`);
  // Stored without its option type: buildArch validates options with the entry's own schema first.
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

/**
 * Validates `options` with the architecture's schema (errors name the field) and builds the network; with `kind`, the
 * name must be of that kind and the result has its type.
 */
export function buildArch<K extends ArchKind>(name: string, options: unknown, kind: K): NetworkOf<K>;
export function buildArch(name: string, options?: unknown): NetworkOf<ArchKind>;
export function buildArch(name: string, options: unknown = {}, kind?: ArchKind): NetworkOf<ArchKind> {
  const e = getArch(name, kind);
  const parsed = e.schema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new TasksrError("E_CONFIG", `options of "${name}": ${issues}`);
  }
  return e.build(parsed.data);
}
