// `tasksr train` error output: one line, one code, even when the error wraps a lower-level one.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { stringify } from "yaml";
import { TasksrError } from "../../src/errors.js";
import { tasksr } from "../support/cli.js";
import { tinyConfig } from "../support/tiny_runs.js";

const TMP = mkdtempSync(join(tmpdir(), "tasksr-train-errors-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

test("a TasksrError quoting another one's message carries only its own code", () => {
  const inner = new TasksrError("E_BAD_FILE", "w.pth: truncated");
  const outer = new TasksrError("E_STATE_DICT", `sr.weights: ${inner.message}`);
  assert.equal(outer.message, "sr.weights: w.pth: truncated [E_STATE_DICT; see docs/errors.md#e_state_dict]");
});

test("train with damaged task-network weights prints one error line naming the config field and file, code once", () => {
  const weights = join(TMP, "damaged.safetensors");
  writeFileSync(weights, Buffer.alloc(64, 0xa7));
  const cfg = tinyConfig("damaged-weights", "hr2task");
  cfg.taskNet = { arch: "resnet-tiny", weights };
  const config = join(TMP, "damaged-weights.yaml");
  writeFileSync(config, stringify(cfg));
  const r = tasksr("train", "--config", config, "--out", join(TMP, "runs"));
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(
    lines[0]!.startsWith(`tasksr: error: taskNet.weights: ${weights}: not a valid safetensors file: `),
    lines[0],
  );
  assert.equal(lines[0]!.match(/\[E_[A-Z_]+;/g)?.length, 1, lines[0]);
  assert.ok(lines[0]!.endsWith("[E_BAD_FILE; see docs/errors.md#e_bad_file]"), lines[0]);
});
