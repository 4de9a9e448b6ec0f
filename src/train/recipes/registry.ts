/**
 * The training settings by name: each recipe file declares, in one `defineRecipe`, its config schema, its paper
 * label, which networks it uses and trains, which earlier settings of a study it takes weights from, the cross-field
 * checks of its config, and how its step is built. Config validation, training, evaluation, studies and reports ask
 * here; definition order is the papers' table order (src/train/recipes/index.ts imports the files in that order),
 * and plug-in recipes follow in the order they are defined.
 */
import type { z } from "zod";
import type { RunConfig } from "../../config/schema.js";
import { TasksrError } from "../../errors.js";
import type { Recipe } from "./types.js";

export interface RecipeNets {
  /** The SR network is trained (it needs optim.sr). */
  trainsSr: boolean;
  /** The task network is trained (it needs optim.task). */
  trainsTask: boolean;
  /** The setting runs an SR network (it needs an sr block). */
  usesSr: boolean;
}

/** In a study, a network whose weights come from another setting's run of the same seed. */
export interface RecipeLink {
  /** The setting whose trained network is loaded. */
  from: string;
  /** The study must include `from` (S→T cannot run without SR-FT); otherwise the link applies only when it does. */
  required: boolean;
}

/** A recipe's config block: a zod object whose `name` is the recipe's name. */
export type RecipeSchema = z.ZodType<{ name: string }>;

export interface RecipeDef<S extends RecipeSchema = RecipeSchema> {
  readonly name: string;
  /** Validates the `recipe:` block (with `name`), supplying the defaults; unknown keys should be errors. */
  readonly schema: S;
  /** The label of the papers' tables (T→S is TDSR's objective). */
  readonly label: string;
  readonly nets: RecipeNets;
  /** Study links: the SR and/or task network taken from another setting's run. */
  readonly links?: { readonly sr?: RecipeLink; readonly taskNet?: RecipeLink };
  /** Problems of a schema-valid config beyond the networks, each as "field: what is needed". */
  readonly check?: (c: RunConfig, r: z.output<S>) => string[];
  /** The step, from the recipe's config block and the run's optimizer steps per epoch. */
  readonly build: (r: z.output<S>, o: { itersPerEpoch: number }) => Recipe;
}

const defs = new Map<string, RecipeDef>();

export function defineRecipe<S extends RecipeSchema>(def: RecipeDef<S>): void {
  if (defs.has(def.name)) throw new TasksrError("E_CONFIG", `recipe "${def.name}" is defined twice`);
  // Stored without its config type: the config is parsed with the definition's own schema before it reaches it.
  defs.set(def.name, def as unknown as RecipeDef);
}

export function getRecipe(name: string): RecipeDef {
  const d = defs.get(name);
  if (d === undefined) {
    throw new TasksrError("E_UNKNOWN_NAME", `unknown recipe "${name}"; known: ${[...defs.keys()].join(", ")}`);
  }
  return d;
}

export const hasRecipe = (name: string): boolean => defs.has(name);

/** Every recipe, in the papers' table order, then plug-ins' in definition order. */
export const listRecipes = (): RecipeDef[] => [...defs.values()];

/** The step of a run's recipe. */
export const buildRecipe = (r: { name: string }, o: { itersPerEpoch: number }): Recipe => getRecipe(r.name).build(r, o);
