import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { loadRunConfig, validateRun } from "../../src/config/load.js";
import { TasksrError } from "../../src/errors.js";
import { loadPlugins, workerModules } from "../../src/plugins.js";
import { settingOrder } from "../../src/report/settings.js";
import { planStudy } from "../../src/study/plan.js";
import { StudyConfig } from "../../src/study/schema.js";
import { REPO } from "../support/paths.js";
import { tmpFile } from "../support/tmp.js";

const ZOD = JSON.stringify(pathToFileURL(join(REPO, "node_modules", "zod", "index.js")).href);
const API = JSON.stringify(pathToFileURL(join(REPO, "dist", "src", "index.js")).href);
const H2T = join(REPO, "configs", "cpu", "000_H2T.yaml");

function plugin(name: string, body: string): string {
  const dir = tmpFile("plugins");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

test("a plug-in recipe validates its own block, joins the settings after the papers' and links weights in studies", async () => {
  const path = plugin(
    "recipe.js",
    `import { z } from ${ZOD};
     import { defineRecipe, getRecipe } from ${API};
     export const workerModule = "./recipe-data.js";
     const base = getRecipe("sr2task");
     defineRecipe({
       name: "sr2task-twice",
       schema: z.strictObject({ name: z.literal("sr2task-twice"), repeat: z.number().int().min(1).default(2) }),
       label: "S→T×2",
       nets: base.nets,
       links: { sr: { from: "sr-ft", required: true } },
       build: () => base.build({ name: "sr2task" }, { itersPerEpoch: 1 }),
     });`,
  );
  await loadPlugins([path], { where: "--plugin" });
  await loadPlugins([path], { where: "--plugin" }); // loaded once: no "defined twice"
  assert.deepEqual(workerModules(), [pathToFileURL(join(tmpFile("plugins"), "recipe-data.js")).href]);
  assert.deepEqual(settingOrder().slice(-2), ["sr4ir", "sr2task-twice"]);

  const cfg = loadRunConfig(join(REPO, "configs", "cpu", "011_S2T_x4.yaml"), ["recipe.name=sr2task-twice"]);
  assert.deepEqual(cfg.recipe, { name: "sr2task-twice", repeat: 2 });
  assert.throws(
    () => loadRunConfig(join(REPO, "configs", "cpu", "011_S2T_x4.yaml"), ["recipe.name=sr2task-twice", "recipe.x=1"]),
    /recipe: Unrecognized key: "x" \(x\)/,
  );
  assert.throws(
    () => loadRunConfig(H2T, ["recipe.name=nope"]),
    /recipe\.name: unknown recipe "nope"; known: hr2task, .*sr2task-twice/,
  );

  const base = { ...loadRunConfig(H2T) } as Record<string, unknown>;
  delete base.name;
  delete base.recipe;
  const where = "study.yaml";
  assert.throws(
    () =>
      planStudy(StudyConfig.parse({ name: "s", base, settings: ["hr2task", "sr2task-twice"] }), {
        out: "/tmp/x",
        where,
      }),
    /settings: sr2task-twice needs sr-ft in the same study/,
  );
  assert.throws(() => StudyConfig.parse({ name: "s", base, settings: ["sr5ir"] }), /unknown setting \\"sr5ir\\"/);
});

test("plug-ins that do not load are one clear error naming them", async () => {
  const broken = plugin("broken.js", `throw new Error("bad registration");`);
  await assert.rejects(loadPlugins([broken], { where: "--plugin" }), (e: unknown) => {
    assert.ok(e instanceof TasksrError && e.code === "E_PLUGIN", String(e));
    assert.match(e.message, /--plugin: plug-in .*broken\.js failed to load: bad registration/);
    return true;
  });
  const twice = plugin("twice.js", `import { getRecipe, defineRecipe } from ${API}; defineRecipe(getRecipe("joint"));`);
  await assert.rejects(
    loadPlugins([twice], { where: "c.yaml: plugins" }),
    /c\.yaml: plugins: plug-in .*twice\.js: recipe "joint" is defined twice/,
  );
  await assert.rejects(
    loadPlugins(["./missing.js"], { where: "--plugin" }),
    /--plugin: plug-in \.\/missing\.js: no file/,
  );
  await assert.rejects(
    loadPlugins(["no-such-package"], { where: "--plugin" }),
    /--plugin: plug-in no-such-package: Cannot find module/,
  );
  const bad = plugin("worker.js", "export const workerModule = 3;");
  await assert.rejects(loadPlugins([bad], { where: "--plugin" }), /workerModule must be a URL or path string/);
});

test("a config naming a task no plug-in registered is one error naming the field and the known tasks", () => {
  const raw = { ...loadRunConfig(H2T), task: "depth" };
  assert.throws(
    () => validateRun(raw, "c.yaml"),
    /c\.yaml: task: unknown task "depth"; known: classification, segmentation, detection/,
  );
});

test("tasksr/data loads without the engine (data worker threads import it and plug-ins' worker modules)", () => {
  const script = `
    const seen = [];
    const dlopen = process.dlopen;
    process.dlopen = (m, f, ...r) => { seen.push(f); return dlopen(m, f, ...r); };
    const api = await import(${JSON.stringify(pathToFileURL(join(REPO, "dist", "src", "data_api.js")).href)});
    await import(${JSON.stringify(pathToFileURL(join(REPO, "dist", "src", "data", "loader", "worker.js")).href)}).catch(() => {});
    console.log(JSON.stringify({ native: seen.filter((f) => f.includes("tasksr_native")), tasks: ["classification", "segmentation", "detection"].map((t) => api.getTaskData(t).name) }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { native: string[]; tasks: string[] };
  assert.deepEqual(out.native, [], "the engine addon was loaded");
  assert.deepEqual(out.tasks, ["classification", "segmentation", "detection"]);
});
