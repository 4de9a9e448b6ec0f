/**
 * Loading a run config: YAML (1.2) → `--set a.b=value` overrides → zod validation → cross-field checks (recipe and
 * networks, registry options, crop size against the scale).
 * Every problem is reported once, with the file and the dotted path of the field.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import type { z } from "zod";
import { datasetSchema, datasetTypes } from "../data/datasets/registry.js";
import { TasksrError } from "../errors.js";
import "../models/index.js";
import { type ArchKind, listArchs } from "../models/registry.js";
import "../tasks/index.js";
import { getTaskData } from "../tasks/data.js";
import { getRecipe } from "../train/recipes/index.js";
import { type NetConfig, RunConfig } from "./schema.js";

export function formatIssues(
  where: string,
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly (string | number)[] = [],
): string {
  return issues
    .map((i) => {
      const path = [...prefix, ...i.path.map(String)].join(".") || "(root)";
      const keys = i.code === "unrecognized_keys" ? ` (${(i as { keys: string[] }).keys.join(", ")})` : "";
      return `${where}: ${path}: ${i.message}${keys}`;
    })
    .join("\n");
}

const knownDatasetSchema = (type: string) => (datasetTypes().includes(type) ? datasetSchema(type) : undefined);

/** Problems in the blocks that registries validate: dataset types and options, architecture names and options. */
function registryProblems(c: RunConfig, where: string): string[] {
  const out: string[] = [];
  for (const split of ["train", "val"] as const) {
    const { type, ...options } = c.data[split];
    const schema = knownDatasetSchema(type);
    if (schema === undefined) {
      out.push(`${where}: data.${split}.type: unknown dataset type "${type}"; known: ${datasetTypes().join(", ")}`);
      continue;
    }
    const parsed = schema.safeParse(options);
    if (!parsed.success) out.push(formatIssues(where, parsed.error.issues, ["data", split]));
  }
  // The options the builder adds itself (the SR scale) are validated along with the configured ones.
  const nets: [string, NetConfig | undefined, ArchKind, Record<string, unknown>][] = [
    ["sr", c.sr, "sr", { scale: c.scale }],
    ["taskNet", c.taskNet, `task.${c.task}`, {}],
  ];
  for (const [key, net, kind, implied] of nets) {
    if (net === undefined) continue;
    const known = listArchs(kind);
    const entry = known.find((a) => a.name === net.arch);
    if (entry === undefined) {
      const names = known.map((a) => a.name).join(", ");
      out.push(`${where}: ${key}.arch: unknown ${kind} architecture "${net.arch}"; known: ${names}`);
      continue;
    }
    const parsed = entry.schema.safeParse({ ...implied, ...net.options });
    if (!parsed.success) {
      // The SR scale comes from the run's `scale` unless sr.options sets one: name the field the user wrote.
      const own = net.options.scale !== undefined;
      for (const issue of parsed.error.issues) {
        const fromRun = key === "sr" && !own && issue.path[0] === "scale";
        out.push(
          fromRun
            ? `${where}: scale: ${issue.message} (sr.arch ${net.arch})`
            : formatIssues(where, [issue], [key, "options"]),
        );
      }
    }
  }
  return out;
}

/**
 * The SR output is compared with the HR crop pixel for pixel, so the crop must be a multiple of the scale: otherwise
 * the LR crop is floor(crop / scale) pixels and S(LR) comes out smaller than the HR crop, which only the first
 * pixel loss would notice. Detection trains on whole images, padded to multiples of the scale when batched.
 */
function cropProblem(c: RunConfig, where: string): string | undefined {
  // The task preset's training crop when data.transforms.crop is not set.
  const preset = getTaskData(c.task).presets.defaultCrop;
  if (!getRecipe(c.recipe.name).nets.usesSr || c.sr === undefined || preset === undefined) return undefined;
  const given = c.data.transforms.crop;
  // A crop of the wrong type is reported by the transform presets when the run is built.
  if (given !== undefined && !(typeof given === "number" && Number.isInteger(given) && given > 0)) return undefined;
  const crop = given ?? preset;
  if (crop % c.scale === 0) return undefined;
  const entry = listArchs("sr").find((a) => a.name === c.sr?.arch);
  if (entry === undefined) return undefined; // reported as an unknown architecture
  const archScales = RunConfig.shape.scale.options
    .map((o) => o.value)
    .filter((s) => entry.schema.safeParse({ ...c.sr?.options, scale: s }).success);
  if (!archScales.includes(c.scale)) return undefined; // reported with the architecture's options
  const dividing = archScales.filter((s) => crop % s === 0);
  const lower = crop - (crop % c.scale);
  const crops = [lower, lower + c.scale].filter((n) => n > 0).join(" or ");
  const field = given === undefined ? `data.transforms.crop (default ${preset} for ${c.task})` : "data.transforms.crop";
  return (
    `${where}: ${field}, scale: a ${crop}-px crop is not a multiple of scale ${c.scale}, so sr.arch ${c.sr.arch} ` +
    `would output ${lower} px for ${crop} px of HR; set data.transforms.crop to a multiple of ${c.scale} (${crops}), ` +
    `or a scale that divides ${crop}: sr.arch ${c.sr.arch} supports ${archScales.join(", ")}` +
    (dividing.length ? `; those dividing ${crop}: ${dividing.join(", ")}` : `, none of which divides ${crop}`)
  );
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => v !== null && typeof v === "object" && !Array.isArray(v);

/** `over` merged into a copy of `base`: objects merge key by key, `undefined` removes a key, anything else replaces. */
export function deepMerge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete out[k];
    else out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Raw, v) : v;
  }
  return out;
}

/** Applies one `a.b.c=value` override (value parsed as YAML: numbers, booleans, lists, strings). */
export function applyOverride(raw: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new TasksrError("E_CLI_ARG", `--set expects key.path=value, got "${assignment}"`);
  const path = assignment.slice(0, eq).split(".");
  let value: unknown;
  try {
    value = parseYaml(assignment.slice(eq + 1));
  } catch (err) {
    throw new TasksrError("E_CLI_ARG", `--set ${assignment}: value is not valid YAML (${(err as Error).message})`);
  }
  let node: Record<string, unknown> = raw;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) node[key] = {};
    else if (typeof next !== "object" || Array.isArray(next)) {
      throw new TasksrError("E_CLI_ARG", `--set ${assignment}: "${key}" is not an object in the config`);
    }
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** Validates a raw config object; `where` names its source in errors. */
export function validateRun(raw: unknown, where: string): RunConfig {
  const parsed = RunConfig.safeParse(raw);
  if (!parsed.success) throw new TasksrError("E_CONFIG", `invalid config\n${formatIssues(where, parsed.error.issues)}`);
  const c = parsed.data;
  const recipe = getRecipe(c.recipe.name);
  const nets = recipe.nets;
  const problems: string[] = [];
  if (nets.usesSr && c.sr === undefined) problems.push(`sr: recipe ${c.recipe.name} needs an SR network`);
  if (!nets.usesSr && c.sr !== undefined)
    problems.push(`sr: recipe ${c.recipe.name} does not use an SR network; remove the block`);
  if (nets.trainsSr && c.optim.sr === undefined)
    problems.push(`optim.sr: recipe ${c.recipe.name} trains the SR network`);
  if (nets.trainsTask && c.optim.task === undefined)
    problems.push(`optim.task: recipe ${c.recipe.name} trains the task network`);
  problems.push(...(recipe.check?.(c, c.recipe) ?? []));
  const crop = cropProblem(c, where);
  const all = [...problems.map((p) => `${where}: ${p}`), ...registryProblems(c, where), ...(crop ? [crop] : [])];
  if (all.length) throw new TasksrError("E_CONFIG", `invalid config\n${all.join("\n")}`);
  return c;
}

/** Reads a YAML config file, applies `--set` overrides and validates it. */
export function loadRunConfig(path: string, sets: readonly string[] = []): RunConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new TasksrError("E_CONFIG", `${path}: not valid YAML: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new TasksrError("E_CONFIG", `${path}: the config must be a YAML mapping`);
  }
  for (const s of sets) applyOverride(raw as Record<string, unknown>, s);
  return validateRun(raw, path);
}

/** Stable hash of a resolved config (stored in checkpoints to detect resuming with a different config). */
export function configHash(c: RunConfig): string {
  const canon = (v: unknown): unknown =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  // data.workers changes where batches are made, never what they hold.
  const { workers: _, ...data } = c.data;
  return createHash("sha256")
    .update(JSON.stringify(canon({ ...c, data })))
    .digest("hex")
    .slice(0, 16);
}

export const configToYaml = (c: RunConfig): string => toYaml(c);
