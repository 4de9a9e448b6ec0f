/**
 * A study: the papers' comparison of training settings (H→T, L→T, SR-FT, S→T, T→S, S+T, SR4IR) on one dataset,
 * over several seeds. It is one base run config plus, per setting, its recipe options and any overrides; each
 * setting's run config is derived from them (plan.ts) and validated like a hand-written config.
 */
import { z } from "zod";
import { FolderName } from "../config/name.js";
import { settingOrder } from "../report/settings.js";
import { hasRecipe } from "../train/recipes/index.js";

/**
 * A setting is a recipe; a study runs its settings in the papers' table order, which is also the order they depend
 * on each other (S→T needs SR-FT's SR net, T→S and SR-FT's task view need H→T's).
 */
export type Setting = string;
/** A registered recipe's name, checked when the study is parsed (so plug-in recipes count). */
const settingName = z.string().superRefine((name, ctx) => {
  if (!hasRecipe(name)) {
    ctx.addIssue({ code: "custom", message: `unknown setting "${name}"; known: ${settingOrder().join(", ")}` });
  }
});

const plainObject = z.record(z.string(), z.unknown());

export const StudyConfig = z.strictObject({
  /** Folder name of the study under the output folder. */
  name: FolderName,
  /** A run config without `name` and `recipe`: task, scale, data, sr, taskNet, optim, schedule, train, eval. */
  base: plainObject,
  settings: z
    .array(settingName)
    .min(1)
    .default(() => settingOrder()),
  /** Recipe options per setting (the recipe block without `name`); the recipe schema supplies the defaults. */
  recipes: z.record(settingName, plainObject).default({}),
  /** Values deep-merged over the base config for one setting (e.g. `{sr4ir: {train: {epochs: 8}}}`). */
  overrides: z.record(settingName, plainObject).default({}),
  seeds: z.array(z.number().int().min(0)).min(1).default([0]),
  /**
   * The TDSR view: the H→T task network (frozen) evaluated on HR, on interpolated LR and on the output of every SR
   * network the study trained, with PSNR beside each.
   */
  tdsrView: z.boolean().default(true),
});
export type StudyConfig = z.output<typeof StudyConfig>;
export type StudyConfigInput = z.input<typeof StudyConfig>;
