/**
 * A study deletes only what tasksr created inside `--out`: a study named '..' or '.' is refused before `--fresh`
 * deletes anything, `--fresh` deletes only a folder marked as a study folder, a changed run is replaced only when it
 * is a marked run folder, and never while another process is training a run in it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { configToYaml } from "../../src/config/load.js";
import { TasksrError } from "../../src/errors.js";
import { validateStudy } from "../../src/study/load.js";
import { planStudy } from "../../src/study/plan.js";
import { runStudy } from "../../src/study/run.js";
import { tasksr } from "../support/cli.js";
import { tempDir } from "../support/data_trees.js";

const raw = {
  name: "s",
  settings: ["hr2task"],
  base: {
    task: "classification",
    scale: 4,
    device: "cpu",
    data: {
      train: { type: "image-folder", root: "/nonexistent/train" },
      val: { type: "image-folder", root: "/nonexistent/val" },
    },
    taskNet: { arch: "resnet-tiny" },
    optim: { task: { type: "sgd", lr: 0.05 } },
    train: { epochs: 1, batchSize: 4 },
  },
};
const quiet = () => {};

const failsWith = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === code && re.test(e.message);

/** `out` inside a sandbox folder, and a canary file next to `out` that must survive. */
function sandbox(): { box: string; out: string; canary: string } {
  const box = tempDir("study-sandbox");
  const out = join(box, "out");
  mkdirSync(join(out, "earlier"), { recursive: true });
  const canary = join(box, "canary.txt");
  writeFileSync(canary, "must survive");
  return { box, out, canary };
}

test("study --fresh with name '..' deletes nothing: the name is refused, the canary next to --out survives", async () => {
  const { box, out, canary } = sandbox();
  for (const name of ["..", "."]) {
    assert.throws(() => validateStudy({ ...raw, name }, "s.yaml"), failsWith("E_CONFIG", /s\.yaml: name: /));
    // A study built in code skips the schema; running it checks the name again.
    const study = { ...validateStudy(raw, "s.yaml"), name };
    await assert.rejects(
      runStudy(study, { out, where: "s.yaml", fresh: true, log: quiet }),
      failsWith("E_CONFIG", /s\.yaml: name: /),
    );
  }
  const yaml = join(box, "s.yaml");
  writeFileSync(yaml, stringify({ ...raw, name: ".." }));
  const r = tasksr("study", yaml, "--out", out, "--fresh");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /s\.yaml: name: "\.\." is not a folder name of its own/);
  assert.equal(readFileSync(canary, "utf8"), "must survive");
  assert.deepEqual(readdirSync(box).sort(), ["canary.txt", "out", "s.yaml"]);
  assert.deepEqual(readdirSync(out), ["earlier"]);
});

test("--fresh refuses a study folder tasksr did not create", async () => {
  const { out } = sandbox();
  const mine = join(out, "s");
  mkdirSync(mine);
  writeFileSync(join(mine, "notes.txt"), "mine");
  const study = validateStudy(raw, "s.yaml");
  await assert.rejects(
    runStudy(study, { out, where: "s.yaml", fresh: true, log: quiet }),
    failsWith("E_RUN_FOLDER", /refusing to delete .*\/out\/s: it was not created by tasksr as a study folder/),
  );
  await assert.rejects(
    runStudy(study, { out, where: "s.yaml", log: quiet }),
    failsWith("E_RUN_FOLDER", /refusing to write into .*\/out\/s: .*\.tasksr-study/),
  );
  assert.deepEqual(readdirSync(mine), ["notes.txt"]);
});

test("a changed run is replaced only when tasksr created its folder, and never while it is being trained", async () => {
  const { out } = sandbox();
  const study = validateStudy(raw, "s.yaml");
  const [run] = planStudy(study, { out, where: "s.yaml" });
  mkdirSync(join(out, "s"));
  writeFileSync(join(out, "s", ".tasksr-study"), "");
  // A run folder of another config, without the run marker.
  mkdirSync(run!.dir, { recursive: true });
  const other = { ...run!.cfg, train: { ...run!.cfg.train, batchSize: 2 } };
  writeFileSync(join(run!.dir, "config.resolved.yaml"), configToYaml(other));
  const replace = { out, where: "s.yaml", replaceChanged: true, log: quiet };
  await assert.rejects(
    runStudy(study, replace),
    failsWith("E_RUN_FOLDER", /refusing to delete .*seed-0\/hr2task: .*no \.tasksr-run marker/),
  );
  assert.ok(existsSync(join(run!.dir, "config.resolved.yaml")));
  // Marked, but another live process holds its lock (here a sleeping child), in the run or in the study folder.
  writeFileSync(join(run!.dir, ".tasksr-run"), "");
  const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    const lock = { pid: sleeper.pid, hostname: hostname(), started: new Date().toISOString() };
    writeFileSync(join(run!.dir, ".tasksr-lock"), JSON.stringify(lock));
    await assert.rejects(
      runStudy(study, replace),
      failsWith("E_RUN_FOLDER", new RegExp(`refusing to delete .*hr2task: tasksr pid ${sleeper.pid} on `)),
    );
    await assert.rejects(
      runStudy(study, { ...replace, fresh: true }),
      failsWith("E_RUN_FOLDER", new RegExp(`refusing to delete .*/out/s: tasksr pid ${sleeper.pid} .*training`)),
    );
    assert.ok(existsSync(join(run!.dir, "config.resolved.yaml")));
  } finally {
    sleeper.kill("SIGKILL");
  }
});
