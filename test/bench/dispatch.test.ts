// `tasksr bench dispatch --json` end to end at a tiny size (the PyTorch side when it is installed).
import assert from "node:assert/strict";
import test from "node:test";
import { findTorchPython } from "../../src/bench/child.js";
import { DISPATCH_OPS } from "../../src/bench/dispatch.js";
import { tasksr } from "../support/cli.js";

test("bench dispatch --json: every op timed on both sides, ratios and their geometric mean", () => {
  const torch = findTorchPython() !== undefined;
  const r = tasksr("bench", "dispatch", "--json", "--rounds", "1", "--iters", "200", "--repeats", "1");
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
    geomean: number | null;
    ops: { name: string; ours_us: number; torch_us: number | null; ratio: number | null }[];
  };
  assert.deepEqual(
    o.ops.map((x) => x.name),
    [...DISPATCH_OPS],
  );
  for (const x of o.ops) {
    assert.ok(x.ours_us > 0 && x.ours_us < 1e4, `${x.name}: ${x.ours_us} µs`);
    assert.equal(x.ratio === null, !torch, x.name);
    if (torch) assert.ok(Math.abs(x.ratio! - x.ours_us / x.torch_us!) < 1e-9, `${x.name}: one round's ratio`);
  }
  assert.equal(o.geomean === null, !torch);
});
