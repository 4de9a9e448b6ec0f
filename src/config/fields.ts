/** Field schemas shared by the run config and the blocks that registries validate (recipes, datasets). */
import { z } from "zod";

export const positive = z.number().positive();
export const count = z.number().int().positive();

/** Durations may be given in epochs (converted with the loader length, A9) or iterations. */
export const durationUnit = z.enum(["epochs", "iters"]).default("epochs");
