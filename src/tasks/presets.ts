/** The `data.transforms` options the built-in tasks' presets share (src/data/transforms/presets.ts). */
import { z } from "zod";

export const builtinTransformOptions = z.strictObject({
  resize: z.number().int().positive().optional(),
  crop: z.number().int().positive().optional(),
  hflip: z.number().min(0).max(1).optional(),
});
