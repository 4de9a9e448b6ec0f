/**
 * `tasksr synth <classification|segmentation|detection> <out-dir> [--seed n] [--train N] [--val N] [--size S]
 * [--scale s] [--force]`: writes a synthetic dataset (docs/data.md#synthetic-datasets) and prints the dataset
 * blocks for a run config. A tree already there with the same options is kept unless --force.
 */
import type { Command } from "commander";
import type { SyntheticTask } from "../../data/synthetic/index.js";
import { TasksrError } from "../../errors.js";

interface RawOptions {
  seed?: string;
  train?: string;
  val?: string;
  size?: string;
  scale?: string;
  force?: boolean;
}

function int(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n))
    throw new TasksrError("E_CLI_ARG", `${flag} must be an integer, got "${v}"`);
  return n;
}

export function registerSynth(program: Command): void {
  program
    .command("synth")
    .description("write a synthetic dataset whose classes only fine detail tells apart (hard at LR, easy at HR)")
    .argument("<task>", "classification (ImageFolder), segmentation (VOC layout) or detection (COCO JSON)")
    .argument("<out-dir>", "folder to write (new, empty, or an earlier synthetic tree)")
    .option("--seed <n>", "random seed (default 0)")
    .option("--train <N>", "training images")
    .option("--val <N>", "validation images")
    .option("--size <S>", "HR side in pixels, a multiple of --scale")
    .option("--scale <s>", "SR factor the data is made for (default 4)")
    .option("--force", "regenerate even when the folder holds this exact dataset")
    .action(async (task: string, out: string, raw: RawOptions) => {
      const options: Record<string, number> = {};
      for (const key of ["seed", "train", "val", "size", "scale"] as const) {
        const v = raw[key];
        if (v !== undefined) options[key] = int(`--${key}`, v);
      }
      const { ensureSynthetic, generateSynthetic, syntheticTasks } = await import("../../data/synthetic/index.js");
      if (!syntheticTasks().includes(task)) {
        throw new TasksrError("E_CLI_ARG", `<task> must be one of ${syntheticTasks().join(", ")}, got "${task}"`);
      }
      const t0 = performance.now();
      const make = raw.force ? generateSynthetic : ensureSynthetic;
      const r = await make(task as SyntheticTask, out, options);
      const o = r.options as { train: number; val: number; size: number };
      const what = `${task}: ${o.train} train / ${o.val} val images of ${o.size}x${o.size}, ${r.classes.length} classes`;
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(r.reused ? `kept ${r.root} (${what})` : `wrote ${r.root} in ${secs} s (${what})`);
      console.log("dataset blocks for a run config:");
      console.log(`  train: ${JSON.stringify(r.train)}`);
      console.log(`  val: ${JSON.stringify(r.val)}`);
    });
}
