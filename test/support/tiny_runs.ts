/**
 * Tiny training runs on Fashion-MNIST (32 x 32 crops, 16 training / 16 validation images, 1 iteration per epoch),
 * trained through the launcher into a temporary folder, for the tests of eval and compare.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { tasksr } from "./cli.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";

/** A config for `recipe` ("hr2task" or "sr4ir"), x4, resnet-tiny (+ edsr-tiny), `epochs` iterations. */
export function tinyConfig(name: string, recipe: "hr2task" | "sr4ir", epochs = 1): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    name,
    task: "classification",
    scale: 4,
    device: "cpu",
    data: {
      train: { type: "idx", root: FMNIST, split: "train" },
      val: { type: "idx", root: FMNIST, split: "test" },
      transforms: { resize: 32, crop: 32 },
      trainLimit: 16,
      valLimit: 16,
      prefetch: 0,
    },
    taskNet: { arch: "resnet-tiny" },
    recipe: recipe === "sr4ir" ? { name: "sr4ir", tdp: { taps: { l4: 1 } }, cqmix: { grid: 4 } } : { name: "hr2task" },
    optim: { task: { type: "sgd", lr: 0.01 }, ...(recipe === "sr4ir" ? { sr: { type: "adamw", lr: 1e-4 } } : {}) },
    train: { epochs, batchSize: 8, itersPerEpoch: 1, logEvery: 1, seed: 1 },
    eval: { batchSize: 8 },
  };
  if (recipe === "sr4ir") cfg.sr = { arch: "edsr-tiny" };
  return cfg;
}

/** Writes the config into `dir` and trains it with `tasksr train`; returns the run folder. */
export function trainTiny(dir: string, cfg: Record<string, unknown>): string {
  const path = join(dir, `${cfg.name as string}.yaml`);
  writeFileSync(path, stringify(cfg));
  const r = tasksr("train", "--config", path, "--out", join(dir, "runs"));
  assert.equal(r.status, 0, `training ${cfg.name}: ${r.stderr}\n${r.stdout}`);
  return join(dir, "runs", cfg.name as string);
}
