import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { configHash, loadRunConfig } from "../../src/config/load.js";
import { TasksrError } from "../../src/errors.js";
import { tmpFile } from "../support/tmp.js";

const BASE = `
name: t
task: classification
scale: 4
data:
  train: { type: image-folder, root: /data/train }
  val: { type: image-folder, root: /data/val }
sr: { arch: edsr-tiny }
taskNet: { arch: resnet-tiny, options: { numClasses: 10 } }
recipe:
  name: sr4ir
  warmup: { length: 2 }
  tdp: { taps: { l4: 1.0 } }
  cqmix: { grid: 4 }
optim:
  sr: { type: adamw, lr: 1.0e-4 }
  task: { type: sgd, lr: 0.03, weightDecay: 1.0e-4 }
train: { epochs: 3, batchSize: 8 }
`;

function write(text: string): string {
  const p = tmpFile(`cfg-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, text);
  return p;
}

const configError = (re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_CONFIG" && re.test(e.message);

test("a valid config gets the papers' defaults", () => {
  const c = loadRunConfig(write(BASE));
  assert.equal(c.recipe.name, "sr4ir");
  if (c.recipe.name !== "sr4ir") return;
  assert.equal(c.recipe.inputWeight, 0.34);
  assert.deepEqual(c.recipe.taskInputs, ["sr", "hr", "cqmix"]);
  assert.equal(c.recipe.cqmix?.p, 0.5);
  assert.equal(c.optim.task?.type === "sgd" && c.optim.task.momentum, 0.9);
  assert.equal(c.degrade.method, "torch-bicubic");
  assert.equal(c.train.amp, "off");
});

test("unknown keys are errors naming the file and path", () => {
  const p = write(BASE.replace("cqmix: { grid: 4 }", "cqmix: { grid: 4, size: 56 }"));
  assert.throws(() => loadRunConfig(p), configError(new RegExp(`${p}: recipe\\.cqmix: .*\\(size\\)`)));
});

test("--set overrides are parsed as YAML and type-checked", () => {
  const p = write(BASE);
  const c = loadRunConfig(p, ["train.batchSize=32", "recipe.tdp.taps={l3: 0.5, l4: 1}", "optim.sr.lr=2e-4"]);
  assert.equal(c.train.batchSize, 32);
  assert.equal(c.optim.sr?.lr, 2e-4);
  if (c.recipe.name === "sr4ir") assert.deepEqual(c.recipe.tdp?.taps, { l3: 0.5, l4: 1 });
  assert.throws(() => loadRunConfig(p, ["train.batchSize=many"]), configError(/train\.batchSize: .*number/));
  assert.throws(() => loadRunConfig(p, ["train.batchsize=3"]), configError(/train: .*batchsize/));
  assert.throws(
    () => loadRunConfig(p, ["nonsense"]),
    (e: unknown) => e instanceof TasksrError && e.code === "E_CLI_ARG",
  );
});

test("a run name is one folder name under --out: '.', '..', '', paths and separators are errors", () => {
  const p = write(BASE);
  for (const name of ['".."', '"."', '""', "a/b", "../runs", "a\\\\b"]) {
    assert.throws(() => loadRunConfig(p, [`name=${name}`]), configError(new RegExp(`${p}: name: `)), name);
  }
  for (const name of ["run-1", "x4_edsr.v2", "...", ".hidden"]) {
    assert.equal(loadRunConfig(p, [`name="${name}"`]).name, name);
  }
});

test("cross-field checks name what the recipe needs", () => {
  assert.throws(() => loadRunConfig(write(BASE), ["recipe={name: task2sr}"]), configError(/taskNet\.weights: T→S/));
  assert.throws(
    () => loadRunConfig(write(BASE.replace("  sr: { type: adamw, lr: 1.0e-4 }\n", ""))),
    configError(/optim\.sr/),
  );
  assert.throws(
    () => loadRunConfig(write(BASE), ["recipe={name: hr2task}"]),
    configError(/does not use an SR network/),
  );
  assert.throws(
    () => loadRunConfig(write(BASE.replace("  cqmix: { grid: 4 }\n", ""))),
    configError(/recipe\.cqmix: taskInputs include cqmix/),
  );
  assert.equal(loadRunConfig(write(BASE.replace("  cqmix: { grid: 4 }\n", "  taskInputs: [sr, hr]\n"))).name, "t");
});

test("config hash is stable under key order and changes with values", () => {
  const a = loadRunConfig(write(BASE));
  const b = loadRunConfig(write(BASE), ["train.seed=0"]);
  const c = loadRunConfig(write(BASE), ["train.seed=1"]);
  assert.equal(configHash(a), configHash(b));
  assert.notEqual(configHash(a), configHash(c));
});

test("dataset and architecture blocks are checked against their registries at load", () => {
  const p = write(BASE);
  assert.throws(
    () => loadRunConfig(p, ["data.train.type=pascal"]),
    configError(/data\.train\.type: unknown dataset type "pascal"; known: .*image-folder/),
  );
  assert.throws(() => loadRunConfig(p, ["data.val.rot=/x"]), configError(new RegExp(`${p}: data\\.val: .*\\(rot\\)`)));
  assert.throws(
    () => loadRunConfig(p, ["sr.arch=edsr-huge"]),
    configError(/sr\.arch: unknown sr architecture "edsr-huge"; known: .*edsr-tiny/),
  );
  assert.throws(
    () => loadRunConfig(p, ["taskNet.arch=deeplabv3-mobilenetv3-light"]),
    configError(/taskNet\.arch: unknown task\.classification architecture/),
  );
  assert.throws(() => loadRunConfig(p, ["taskNet.options.stem=tiny"]), configError(/taskNet\.options\.stem: /));
  assert.throws(
    () => loadRunConfig(p, ["scale=3", "sr.arch=dbpn-tiny"]),
    configError(/: scale: .*got 3 \(sr\.arch dbpn-tiny\)/),
  );
});
