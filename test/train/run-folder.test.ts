/**
 * Run folders belong to tasksr: a run's name cannot lead outside `--out`, tasksr writes only into folders it created
 * (marked with .tasksr-run), and one process at a time trains a run (.tasksr-lock, released on success, failure and
 * exit; a dead holder's lock is taken over).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { setNumThreads } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { LOCK_FILE } from "../../src/train/lock.js";
import { runFiles, trainRun } from "../../src/train/run.js";
import { tasksr } from "../support/cli.js";
import { tempDir } from "../support/data_trees.js";
import { REPO } from "../support/paths.js";
import { tinyConfig, writeClassTree } from "../support/train_runs.js";

setNumThreads(1);
const root = await writeClassTree();
const cfg = tinyConfig(root, { name: "hr2task" }, { name: "folder", sr: undefined, optim: { sr: undefined } });
const quiet = () => {};

const failsWith = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === code && re.test(e.message);

/** A folder holding `out` and a canary file next to it: nothing outside `out` may change. */
function sandbox(): { out: string; canary: string; listing: () => string[] } {
  const box = tempDir("sandbox");
  const out = join(box, "out");
  mkdirSync(out);
  const canary = join(box, "canary.txt");
  writeFileSync(canary, "must survive");
  return { out, canary, listing: () => readdirSync(box).sort() };
}

test("a run named '..' or '.' (or a path) is refused before anything is written: nothing outside --out changes", async () => {
  const { out, canary, listing } = sandbox();
  for (const name of ["..", ".", "a/b", "../x", ""]) {
    await assert.rejects(
      trainRun({ ...cfg, name }, { out, log: quiet }),
      failsWith("E_CONFIG", /^name: /),
      `name ${JSON.stringify(name)}`,
    );
  }
  assert.deepEqual(listing(), ["canary.txt", "out"]);
  assert.deepEqual(readdirSync(out), []);
  // The command line: `--set name=..` is a config error naming the field.
  const yaml = join(out, "..", "run.yaml");
  writeFileSync(yaml, stringify(cfg));
  const r = tasksr("train", "--config", yaml, "--set", "name=..", "--out", out);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /run\.yaml: name: "\.\." is not a folder name of its own/);
  assert.deepEqual(listing(), ["canary.txt", "out", "run.yaml"]);
  assert.deepEqual(readdirSync(out), []);
  assert.equal(readFileSync(canary, "utf8"), "must survive");
});

test("tasksr trains only into folders it created: a foreign folder is refused, an empty one adopted", async () => {
  const out = tempDir("foreign");
  const dir = join(out, cfg.name);
  mkdirSync(dir);
  writeFileSync(join(dir, "notes.txt"), "mine");
  await assert.rejects(
    trainRun(cfg, { out, log: quiet }),
    failsWith("E_RUN_FOLDER", /refusing to write into .*folder: it was not created by tasksr as a run folder/),
  );
  assert.deepEqual(readdirSync(dir), ["notes.txt"], "the folder is untouched");
  const empty = tempDir("empty");
  mkdirSync(join(empty, cfg.name));
  const r = await trainRun(cfg, { out: empty, log: quiet, stopAfterIters: 1 });
  assert.equal(r.stopped, "limit");
  assert.ok(existsSync(join(empty, cfg.name, ".tasksr-run")), "the marker is written");
});

/** Resolves once `text` appears on the child's stdout. */
function waitFor(child: ReturnType<typeof spawn>, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) resolve();
    });
    child.on("exit", () => reject(new Error(`the child exited before printing ${text}:\n${seen}`)));
  });
}

test("a second train of a run that another process is training is refused; after a kill the run resumes", async () => {
  const out = tempDir("locked");
  const long = { ...cfg, train: { ...cfg.train, epochs: 100 } };
  const cfgPath = join(out, "config.json");
  writeFileSync(cfgPath, JSON.stringify(long));
  const child = spawn(process.execPath, [join(REPO, "dist", "test", "support", "train_child.js"), cfgPath, out], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  try {
    await waitFor(child, "] it 1/");
    const dir = runFiles(join(out, cfg.name)).dir;
    await assert.rejects(
      trainRun(long, { out, log: quiet, resume: "auto" }),
      failsWith("E_RUN_FOLDER", new RegExp(`^${dir} is in use: tasksr pid ${child.pid} on ${hostname()} has been`)),
    );
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
  // The killed holder's lock is stale: the next run takes it over and releases it when it stops.
  const lock = join(out, cfg.name, LOCK_FILE);
  assert.ok(existsSync(lock), "the killed process left its lock");
  const r = await trainRun(long, { out, log: quiet, resume: "auto", stopAfterIters: 1 });
  assert.equal(r.stopped, "limit");
  assert.ok(!existsSync(lock), "released after the run");
});

test("within one process too, and the lock is released when the run fails", async () => {
  const out = tempDir("locked-here");
  const lock = join(out, cfg.name, LOCK_FILE);
  let second: Promise<unknown> | undefined;
  let holder: unknown;
  const log = (l: string) => {
    if (l.includes("] it 1/")) {
      holder = JSON.parse(readFileSync(lock, "utf8"));
      second = trainRun(cfg, { out, log: quiet, resume: "auto" });
      throw new Error("simulated crash");
    }
  };
  await assert.rejects(trainRun(cfg, { out, log }), /simulated crash/);
  assert.deepEqual(Object.keys(holder as object).sort(), ["hostname", "pid", "started"]);
  assert.equal((holder as { pid: number }).pid, process.pid);
  await assert.rejects(second!, failsWith("E_RUN_FOLDER", /is in use: tasksr pid \d+ \(this process\)/));
  assert.ok(!existsSync(lock), "released after the crash");
  const r = await trainRun(cfg, { out, log: quiet, resume: "auto" });
  assert.equal(r.stopped, "completed");
});
