/**
 * From a study config to the run config of every (seed, setting): the base config, the setting's recipe, the
 * setting's overrides, and the links between settings (S→T takes SR-FT's SR weights; T→S takes H→T's task weights;
 * SR-FT is judged through H→T's task network when the study trains one). Run folders:
 * `<out>/<study>/seed-<k>/<setting>/`.
 */
import { join, resolve } from "node:path";
import { deepMerge, validateRun } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { TasksrError } from "../errors.js";
import { settingOrder } from "../report/settings.js";
import { getRecipe } from "../train/recipes/index.js";
import { runFiles } from "../train/run.js";
import type { Setting, StudyConfig } from "./schema.js";

export interface PlannedRun {
  seed: number;
  setting: Setting;
  /** Folder that holds this seed's run folders (the trainer's `out`). */
  out: string;
  /** The run folder. */
  dir: string;
  cfg: RunConfig;
}

type Raw = Record<string, unknown>;

export const seedDir = (out: string, study: string, seed: number): string => join(out, study, `seed-${seed}`);

/** The run configs of a study in execution order (per seed: SETTINGS order). `where` names the study file. */
export function planStudy(study: StudyConfig, o: { out: string; where: string }): PlannedRun[] {
  const has = (s: Setting) => study.settings.includes(s);
  const order = settingOrder();
  for (const s of study.settings) {
    for (const link of Object.values(getRecipe(s).links ?? {})) {
      if (link.required && !has(link.from)) {
        throw new TasksrError(
          "E_CONFIG",
          `${o.where}: settings: ${s} needs ${link.from} in the same study (its weights)`,
        );
      }
      // Weights are taken from a run made earlier in the seed's sequence.
      if (has(link.from) && order.indexOf(link.from) > order.indexOf(s)) {
        throw new TasksrError(
          "E_CONFIG",
          `${o.where}: settings: ${s} takes weights from ${link.from}, which runs after it`,
        );
      }
    }
  }
  for (const key of ["name", "recipe"]) {
    if (key in study.base) throw new TasksrError("E_CONFIG", `${o.where}: base.${key}: set per setting by the study`);
  }
  const runs: PlannedRun[] = [];
  for (const seed of study.seeds) {
    // Absolute, so that the linked weights do not depend on the folder relative config paths are resolved from.
    const out = seedDir(resolve(o.out), study.name, seed);
    const weights = (s: Setting, net: "sr" | "task") => runFiles(join(out, s))[net];
    for (const setting of order.filter(has)) {
      const { nets, links: from = {} } = getRecipe(setting);
      const links: Raw = {};
      if (from.sr && has(from.sr.from)) links.sr = { weights: weights(from.sr.from, "sr") };
      if (from.taskNet && has(from.taskNet.from)) links.taskNet = { weights: weights(from.taskNet.from, "task") };
      const raw = [
        study.overrides[setting] ?? {},
        {
          name: setting,
          recipe: { ...(study.recipes[setting] ?? {}), name: setting },
          train: { seed },
          // Blocks the setting does not use are removed (undefined deletes a key).
          ...(nets.usesSr ? {} : { sr: undefined }),
          optim: { ...(nets.trainsSr ? {} : { sr: undefined }), ...(nets.trainsTask ? {} : { task: undefined }) },
        },
        links,
      ].reduce(deepMerge, study.base);
      const cfg = validateRun(raw, `${o.where} (setting ${setting}, seed ${seed})`);
      runs.push({ seed, setting, out, dir: join(out, setting), cfg });
    }
  }
  return runs;
}
