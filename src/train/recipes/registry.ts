/**
 * The training settings by name: each recipe file declares, in one `defineRecipe`, its paper label, which networks
 * it uses and trains, the cross-field checks of its config, and how its step is built. Config validation, training,
 * evaluation, studies and reports ask here; definition order is the papers' table order (src/train/recipes/index.ts
 * imports the files in that order).
 */
import type { RecipeConfig, RecipeName, RunConfig } from "../../config/schema.js";
import { TasksrError } from "../../errors.js";
import type { Recipe } from "./types.js";

export type RecipeConfigOf<N extends RecipeName> = Extract<RecipeConfig, { name: N }>;

export interface RecipeNets {
  /** The SR network is trained (it needs optim.sr). */
  trainsSr: boolean;
  /** The task network is trained (it needs optim.task). */
  trainsTask: boolean;
  /** The setting runs an SR network (it needs an sr block). */
  usesSr: boolean;
}

export interface RecipeDef<N extends RecipeName = RecipeName> {
  readonly name: N;
  /** The label of SR4IR's tables (T→S is TDSR's objective). */
  readonly label: string;
  readonly nets: RecipeNets;
  /** Problems of a schema-valid config beyond the networks, each as "field: what is needed". */
  readonly check?: (c: RunConfig, r: RecipeConfigOf<N>) => string[];
  /** The step, from the recipe's config block and the run's optimizer steps per epoch. */
  readonly build: (r: RecipeConfigOf<N>, o: { itersPerEpoch: number }) => Recipe;
}

const defs = new Map<string, RecipeDef>();

export function defineRecipe<N extends RecipeName>(def: RecipeDef<N>): void {
  if (defs.has(def.name)) throw new TasksrError("E_CONFIG", `recipe "${def.name}" is defined twice`);
  defs.set(def.name, def as unknown as RecipeDef);
}

export function getRecipe<N extends RecipeName>(name: N): RecipeDef<N> {
  const d = defs.get(name);
  if (d === undefined) {
    throw new TasksrError("E_UNKNOWN_NAME", `unknown recipe "${name}"; known: ${[...defs.keys()].join(", ")}`);
  }
  return d as unknown as RecipeDef<N>;
}

export const hasRecipe = (name: string): name is RecipeName => defs.has(name);

/** Every recipe, in the papers' table order. */
export const listRecipes = (): RecipeDef[] => [...defs.values()];

/** The step of a run's recipe. */
export const buildRecipe = (r: RecipeConfig, o: { itersPerEpoch: number }): Recipe =>
  (getRecipe(r.name) as unknown as RecipeDef).build(r as never, o);
