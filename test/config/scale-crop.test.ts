// The crop must be a multiple of the scale when an SR network is trained or run on the crops (its output is compared
// with the HR crop pixel for pixel), and the scale must be one of the SR architecture's: both are config errors at
// load time naming the fields, not a shape error in the first step's pixel loss.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { registerTrain } from "../../src/cli/commands/train.js";
import { deepMerge, loadRunConfig, validateRun } from "../../src/config/load.js";
import type { Image } from "../../src/data/io/image.js";
import { classificationPreset, segmentationPreset } from "../../src/data/transforms/presets.js";
import { Rng } from "../../src/data/transforms/rng.js";
import type { Sample } from "../../src/data/types.js";
import { TasksrError } from "../../src/errors.js";
import { commandError } from "../support/cli.js";
import { tempDir } from "../support/data_trees.js";
import { REPO } from "../support/paths.js";

const SR4IR = join(REPO, "configs", "cpu", "014_SR4IR_x4.yaml"); // 32-px crops, edsr-tiny
const configError = (re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_CONFIG" && re.test(e.message);

test("scale=3 on 32-px crops: one E_CONFIG naming crop, scale, the architecture's scales and the fixes", () => {
  assert.throws(
    () => loadRunConfig(SR4IR, ["scale=3"]),
    configError(
      new RegExp(
        "014_SR4IR_x4\\.yaml: data\\.transforms\\.crop, scale: a 32-px crop is not a multiple of scale 3, so sr\\.arch " +
          "edsr-tiny would output 30 px for 32 px of HR; set data\\.transforms\\.crop to a multiple of 3 \\(30 or 33\\), " +
          "or a scale that divides 32: sr\\.arch edsr-tiny supports 2, 3, 4, 8; those dividing 32: 2, 4, 8",
      ),
    ),
  );
  for (const ok of [["scale=3", "data.transforms={resize: 33, crop: 33}"], ["scale=2"], ["scale=8"]]) {
    assert.doesNotThrow(() => loadRunConfig(SR4IR, ok), ok.join(" "));
  }
});

test("the preset's default crop is checked too, and only where an SR network sees the crops", () => {
  assert.throws(
    () => loadRunConfig(SR4IR, ["scale=3", "data.transforms={}"]),
    configError(/data\.transforms\.crop \(default 224 for classification\), scale: a 224-px crop/),
  );
  // L→T and H→T resize the LR input to the HR size themselves: any crop works.
  const raw = parseYaml(readFileSync(SR4IR, "utf8")) as Record<string, unknown>;
  for (const recipe of ["hr2task", "lr2task"]) {
    const noSr = { ...deepMerge(raw, { scale: 3, sr: undefined, optim: { sr: undefined } }), recipe: { name: recipe } };
    assert.equal(validateRun(noSr, recipe).scale, 3);
  }
  assert.throws(
    () => loadRunConfig(SR4IR, ["task=segmentation", "taskNet={arch: deeplabv3-mobilenetv3-light}", "scale=3"]),
    configError(/data\.transforms\.crop, scale: a 32-px crop is not a multiple of scale 3/),
  );
});

test("a scale the SR architecture lacks names the run's scale field and the architecture's scales", () => {
  assert.throws(
    () => loadRunConfig(SR4IR, ["sr.arch=dbpn-tiny", "scale=3"]),
    configError(/014_SR4IR_x4\.yaml: scale: dbpn-tiny upscales by 2, 4 or 8 only .*, got 3 \(sr\.arch dbpn-tiny\)/),
  );
});

test("tasksr train refuses the mismatch before building anything", async () => {
  const out = tempDir("scale-crop");
  const err = await commandError(registerTrain, ["train", "--config", SR4IR, "--set", "scale=3", "--out", out]);
  assert.equal(err.code, "E_CONFIG");
  assert.match(err.message, /data\.transforms\.crop, scale: /);
});

test("the defaults assumed for an unset crop are the presets' training crops", () => {
  const big: Sample<{ kind: "class"; label: number }> = {
    id: "x",
    image: { data: new Uint8Array(600 * 600 * 3), width: 600, height: 600, channels: 3 } satisfies Image,
    target: { kind: "class", label: 0 },
  };
  const side = (s: Sample<{ kind: "class"; label: number }>) => [s.image.width, s.image.height];
  assert.deepEqual(side(classificationPreset("train")(big, new Rng(0))), [224, 224]);
  assert.deepEqual(side(segmentationPreset("train")(big, new Rng(0))), [480, 480]);
});
