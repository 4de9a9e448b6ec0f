/** The papers' names and order of the training settings (methods.md A10, F) and the headline metric of each task. */
import "../tasks/index.js";
import { getTask, listTasks } from "../tasks/registry.js";
import { getRecipe, listRecipes } from "../train/recipes/index.js";

/** The label SR4IR's tables use for a setting (T→S is TDSR's objective), from the recipe's definition. */
export const settingLabel = (name: string): string => getRecipe(name).label;

/** Table order of the settings: the recipes' definition order (plug-in recipes after the papers'). */
export const settingOrder = (): string[] => listRecipes().map((r) => r.name);

/** The metric key a task's evaluator reports first (the reports' headline), from the task's definition. */
export const primaryMetric = (task: string): string => getTask(task).metrics.primary;

/** Display names of the SR quality keys; task metrics are named by their tasks. */
const QUALITY_LABELS: Record<string, string> = {
  psnr_sr4ir: "PSNR sr4ir (dB)",
  psnr_basicsr: "PSNR basicsr (dB)",
  ssim: "SSIM",
  lpips: "LPIPS",
};

/** The display name of a metric key (the key itself when no task or quality metric names it). */
export function metricLabel(key: string): string {
  const own = QUALITY_LABELS[key] ?? listTasks().find((t) => Object.hasOwn(t.metrics.labels, key))?.metrics.labels[key];
  return own ?? key;
}
