// Every shipped config under configs/ loads and validates (schema, dataset and architecture options) without opening
// data. Paper-row configs say in their header what they reproduce and how; S→T / T→S / SR-FT configs name their
// prerequisites by the run folder of the config that produces them. configs/synthetic/ (the synthetic data's HR/LR
// gap) and configs/studies/ (`tasksr study` files) are checked for what they are.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { loadRunConfig } from "../../src/config/load.js";
import type { RunConfig } from "../../src/config/schema.js";
import { TasksrError } from "../../src/errors.js";
import { loadStudy } from "../../src/study/load.js";
import { planStudy } from "../../src/study/plan.js";
import { tempDir } from "../support/data_trees.js";
import { REPO } from "../support/paths.js";

const CONFIGS = join(REPO, "configs");

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? yamlFiles(p) : p.endsWith(".yaml") ? [p] : [];
    })
    .sort();
}

const all = yamlFiles(CONFIGS);
const inFolder = (dir: string) => (f: string) => relative(CONFIGS, f).startsWith(`${dir}/`);
const studies = all.filter(inFolder("studies"));
const synthetic = all.filter(inFolder("synthetic"));
const files = all.filter((f) => !studies.includes(f) && !synthetic.includes(f));
const loaded = new Map<string, RunConfig>();

test(`configs/ holds the paper rows: ${files.length} configs`, () => {
  const rel = files.map((f) => relative(CONFIGS, f));
  for (const dir of ["cls/cars", "cls/cub", "seg", "det"]) {
    const want = [
      "H2T",
      "L2T_x4",
      "L2T_x8",
      "SR_edsr_x4",
      "S2T_edsr_x4",
      "T2S_edsr_x4",
      "SwT_edsr_x4",
      "SR4IR_edsr_x4",
    ];
    want.push(...want.slice(3).map((t) => t.replace("x4", "x8")));
    for (const tag of want)
      assert.ok(
        rel.some((r) => r.startsWith(`${dir}/`) && r.endsWith(`_${tag}.yaml`)),
        `${dir} ${tag}`,
      );
  }
  for (const t of ["SRFT", "SRFTplus", "TDSR"]) {
    for (const s of ["x4", "x8"])
      for (const d of ["voc", "coco"])
        assert.ok(
          rel.some((r) => r.endsWith(`${t}_dbpn_${s}_${d}.yaml`)),
          `${t} ${s} ${d}`,
        );
  }
  assert.ok(rel.filter((r) => r.startsWith("cpu/")).length >= 7);
});

for (const file of files) {
  const rel = relative(REPO, file);
  test(`${rel}: validates and documents its row`, () => {
    const cfg = loadRunConfig(file);
    loaded.set(file, cfg);
    const header = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .join("\n");
    assert.match(header, /Expected/, "expected number");
    assert.ok(header.includes(`tasksr train --config ${rel}`), "command naming this file");
    if (!rel.startsWith("configs/cpu/")) assert.match(header, /GPU: /, "GPU needs");
    assert.ok(
      cfg.name.endsWith(rel.slice(rel.lastIndexOf("/") + 1, -".yaml".length)),
      `run name ${cfg.name} ends with the file name`,
    );
    // Relative paths are documented placeholders under datasets/, pretrained/ and runs/ at the repository root.
    const paths = [cfg.data.train, cfg.data.val]
      .map((d) => (d as { root?: string }).root)
      .filter((p) => p !== undefined);
    for (const w of [cfg.sr?.weights, cfg.taskNet.weights]) if (w !== undefined) paths.push(w);
    for (const p of paths) {
      const abs = resolve(dirname(file), p!);
      const top = relative(REPO, abs).split("/")[0];
      assert.ok(
        abs.startsWith("/usr/share/datasets/") || ["datasets", "pretrained", "runs"].includes(top!),
        `${p} resolves to ${abs}`,
      );
    }
    if (rel.startsWith("configs/cpu/")) {
      assert.equal(cfg.device, "cpu");
      assert.equal(cfg.data.train.type, "idx");
    }
  });
}

test("run names are unique; prerequisite weights name the run folder of the config that produces them", () => {
  const byName = new Map<string, { file: string; cfg: RunConfig }>();
  for (const [file, cfg] of loaded) {
    assert.ok(!byName.has(cfg.name), `${cfg.name} in ${file} and ${byName.get(cfg.name)?.file}`);
    byName.set(cfg.name, { file, cfg });
  }
  const sameData = (a: RunConfig, b: RunConfig) =>
    a.task === b.task && JSON.stringify(a.data.train) === JSON.stringify(b.data.train);
  /** The config whose run folder `weights` (relative to `file`) points into, checked to exist. */
  const producer = (file: string, weights: string, kind: "sr" | "task") => {
    const m = /^runs\/([\w.-]+)\/(sr|task)\.safetensors$/.exec(relative(REPO, resolve(dirname(file), weights)));
    assert.ok(m, `${relative(REPO, file)}: ${weights} is not runs/<name>/<net>.safetensors`);
    assert.equal(m[2], kind, `${weights}: expected ${kind}.safetensors`);
    const p = byName.get(m[1]!);
    assert.ok(p, `${relative(REPO, file)}: no config produces run ${m[1]}`);
    return p.cfg;
  };
  let checked = 0;
  for (const [file, cfg] of loaded) {
    const r = cfg.recipe.name;
    if (r === "sr2task") {
      const p = producer(file, cfg.sr!.weights!, "sr");
      assert.equal(p.recipe.name, "sr-ft");
      assert.deepEqual([p.sr!.arch, p.scale], [cfg.sr!.arch, cfg.scale]);
      assert.ok(sameData(p, cfg), `${file}: SR fine-tuned on the same data`);
      checked++;
    }
    if (r === "task2sr" || r === "sr-ft") {
      if (cfg.taskNet.weights === undefined) continue;
      const p = producer(file, cfg.taskNet.weights, "task");
      assert.equal(p.recipe.name, "hr2task");
      assert.equal(p.taskNet.arch, cfg.taskNet.arch);
      assert.ok(sameData(p, cfg), `${file}: the H→T network saw the same data`);
      checked++;
    }
    if (r === "task2sr") assert.ok(cfg.taskNet.weights?.includes("/runs/"), `${file}: T→S needs the H→T run`);
  }
  assert.ok(checked >= 12, `${checked} prerequisite links checked`);
});

test("validation catches wrong architecture, dataset and scale options at load, naming file and field", () => {
  const cpu = join(CONFIGS, "cpu", "014_SR4IR_x4.yaml");
  const fails = (sets: string[], re: RegExp) =>
    assert.throws(
      () => loadRunConfig(cpu, sets),
      (e: unknown) => e instanceof TasksrError && e.code === "E_CONFIG" && re.test(e.message),
      sets.join(" "),
    );
  fails(
    ["sr.arch=edsr-tiniest"],
    /014_SR4IR_x4\.yaml: sr\.arch: unknown sr architecture "edsr-tiniest"; known: .*edsr-tiny/,
  );
  fails(["taskNet.options={numClasses: 0}"], /014_SR4IR_x4\.yaml: taskNet\.options\.numClasses: /);
  fails(["data.val.split=validation"], /014_SR4IR_x4\.yaml: data\.val\.split: /);
  fails(
    ["data.train.type=imagefolder"],
    /data\.train\.type: unknown dataset type "imagefolder"; known: .*image-folder/,
  );
  fails(
    ["sr.arch=dbpn-tiny", "scale=3"],
    /014_SR4IR_x4\.yaml: scale: dbpn-tiny upscales by 2, 4 or 8 only.*\(sr\.arch dbpn-tiny\)/,
  );
});

const header = (file: string) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("#"))
    .join("\n");

for (const file of synthetic) {
  test(`${relative(REPO, file)}: validates and says how to make its data`, () => {
    const cfg = loadRunConfig(file);
    assert.match(header(file), /tasksr synth /);
    assert.ok(["hr2task", "lr2task"].includes(cfg.recipe.name), "H→T/L→T of the gap measurement");
  });
}

for (const file of studies) {
  const rel = relative(REPO, file);
  test(`${rel}: a study whose every run config validates, with its command`, () => {
    const study = loadStudy(file);
    const runs = planStudy(study, { out: tempDir("studies"), where: rel });
    assert.equal(runs.length, study.settings.length * study.seeds.length);
    assert.ok(header(file).includes(`tasksr study ${rel}`), "command naming this file");
  });
}
