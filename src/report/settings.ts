/** The papers' names and order of the training settings (methods.md A10, F) and the headline metric of each task. */
import type { Task } from "../data/types.js";
import { getRecipe, listRecipes } from "../train/recipes/index.js";

/** The label SR4IR's tables use for a setting (T→S is TDSR's objective), from the recipe's definition. */
export const settingLabel = (name: string): string => getRecipe(name).label;

/** Table order of the settings: the recipes' definition order (plug-in recipes after the papers'). */
export const settingOrder = (): string[] => listRecipes().map((r) => r.name);

/** The metric key each task's evaluator reports first (percent). */
export const PRIMARY_METRIC: Record<Task, string> = { classification: "top1", segmentation: "mIoU", detection: "AP" };

/** Display names of the metric keys. */
export const METRIC_LABELS: Record<string, string> = {
  top1: "top-1 (%)",
  top5: "top-5 (%)",
  mIoU: "mIoU (%)",
  pixelAcc: "pixel acc. (%)",
  AP: "AP@[.5:.95] (%)",
  AP50: "AP50 (%)",
  psnr_sr4ir: "PSNR sr4ir (dB)",
  psnr_basicsr: "PSNR basicsr (dB)",
  ssim: "SSIM",
  lpips: "LPIPS",
};
