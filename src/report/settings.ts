/** The papers' names for the training settings (methods.md A10, F) and the headline metric of each task. */
import type { RecipeName } from "../config/schema.js";
import type { Task } from "../data/types.js";

/** Recipe name -> the label SR4IR's tables use (T→S is TDSR's objective). */
export const SETTING_LABELS: Record<RecipeName, string> = {
  hr2task: "H→T",
  lr2task: "L→T",
  "sr-ft": "SR-FT",
  sr2task: "S→T",
  task2sr: "T→S",
  joint: "S+T",
  sr4ir: "SR4IR",
};

/** Table order of the settings. */
export const SETTING_ORDER: readonly RecipeName[] = [
  "hr2task",
  "lr2task",
  "sr-ft",
  "sr2task",
  "task2sr",
  "joint",
  "sr4ir",
];

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
