// `tasksr convert weights`: prefix rules on state-dict keys, values unchanged, metadata for upscale/eval.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { registerConvert } from "../../src/cli/commands/convert.js";
import { loadSafetensors } from "../../src/engine/index.js";
import { mapKey } from "../../src/nn/keymap.js";
import { readWeights } from "../../src/nn/weights.js";
import { commandError, tasksr } from "../support/cli.js";
import { FIXTURES } from "../support/paths.js";

const TMP = mkdtempSync(join(tmpdir(), "tasksr-convert-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

test("mapKey: drop, then strip, then the first matching rename", () => {
  const rules = {
    drop: ["classifier."],
    strip: ["module."],
    rename: [
      ["features.", "backbone."],
      ["f", "x"],
    ] as const,
  };
  assert.equal(mapKey("module.features.0.weight", rules), "backbone.0.weight");
  assert.equal(mapKey("classifier.3.bias", rules), null);
  assert.equal(mapKey("fc.weight", rules), "xc.weight");
  assert.equal(mapKey("head.0.bias", {}), "head.0.bias");
});

test("convert weights: .pt -> safetensors with renamed and dropped keys, the same values, and metadata", () => {
  const pt = join(FIXTURES, "infer", "edsr_tiny_x2.pt");
  const out = join(TMP, "w.safetensors");
  const r = tasksr(
    "convert",
    "weights",
    pt,
    out,
    "--rename",
    "head.=stem.",
    "--drop",
    "tail.",
    "--arch",
    "edsr-tiny",
    "--scale",
    "2",
  );
  assert.equal(r.status, 0, r.stderr);
  const src = readWeights(pt);
  const { tensors, metadata } = loadSafetensors(out);
  const kept = [...src.keys()].filter((k) => !k.startsWith("tail."));
  assert.match(r.stdout, new RegExp(`wrote .*w\\.safetensors: ${kept.length} of ${src.size} tensors`));
  assert.deepEqual(metadata, { arch: "edsr-tiny", scale: "2" });
  assert.deepEqual([...tensors.keys()].sort(), kept.map((k) => k.replace(/^head\./, "stem.")).sort());
  assert.deepEqual(tensors.get("stem.0.weight")!.data<"float32">(), src.get("head.0.weight")!.data<"float32">());
  for (const t of [...src.values(), ...tensors.values()]) t.dispose();
});

test("convert weights: a wrong output name or colliding keys are clear errors", async () => {
  const pt = join(FIXTURES, "infer", "edsr_tiny_x2.pt");
  const bad = await commandError(registerConvert, ["convert", "weights", pt, join(TMP, "w.pt")]);
  assert.match(bad.message, /name it \*\.safetensors/);
  const clash = await commandError(registerConvert, [
    "convert",
    "weights",
    pt,
    join(TMP, "c.safetensors"),
    "--rename",
    "head.0.=body.4.",
  ]);
  assert.match(clash.message, /two keys of .*edsr_tiny_x2\.pt map to "body\.4\.(weight|bias)"; check the rules/);
});
