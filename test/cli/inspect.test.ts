import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { registerInspect } from "../../src/cli/commands/inspect.js";
import { TasksrError } from "../../src/errors.js";

/** Runs `tasksr inspect ...args` in-process and returns what it printed. */
async function inspect(...args: string[]): Promise<string> {
  let out = "";
  const program = new Command("tasksr").exitOverride();
  registerInspect(program, (s) => {
    out += s;
  });
  await program.parseAsync(["inspect", ...args], { from: "user" });
  return out;
}

test("inspect --json prints one object {arch, params, trainable, macs, taps}", async () => {
  const o = JSON.parse(await inspect("resnet-tiny", "--classes", "10", "--input", "3x32x32", "--json"));
  assert.deepEqual(Object.keys(o), ["arch", "params", "trainable", "macs", "taps"]);
  assert.equal(o.arch, "resnet-tiny");
  assert.equal(o.params, o.trainable);
  assert.ok(o.macs > 0);
  assert.deepEqual(o.taps, {
    start: [1, 16, 32, 32],
    l1: [1, 16, 32, 32],
    l2: [1, 32, 16, 16],
    l3: [1, 64, 8, 8],
    l4: [1, 128, 4, 4],
  });
  const sr = JSON.parse(await inspect("edsr-baseline", "--scale", "4", "--input", "3x8x8", "--json"));
  assert.deepEqual(sr, { arch: "edsr-baseline", params: 1_517_595, trainable: 1_517_571, macs: 126_932_544, taps: {} });
});

test("inspect text output names parameters, MACs, outputs and taps", async () => {
  const text = await inspect("deeplabv3-mobilenetv3-light", "--classes", "3", "--input", "3x64x64");
  assert.match(text, /^deeplabv3-mobilenetv3-light \(task\.segmentation\)/);
  assert.match(text, /parameters {2}[\d,]+ \(trainable [\d,]+\)/);
  assert.match(text, /MACs {8}[\d.]+ M \(conv/);
  assert.match(text, /output {6}out \[1, 3, 64, 64\]\noutput {6}aux \[1, 3, 64, 64\]/);
  assert.match(text, /tap {9}C5 \[1, 240, 4, 4\]/);
});

test("inspect shows torchvision's parameter counts and the taps of the detectors", async () => {
  const frcnn = JSON.parse(await inspect("fasterrcnn-mobilenet-v3-large-fpn", "--classes", "21", "--json"));
  assert.equal(frcnn.params, 19_052_004);
  assert.deepEqual(frcnn.taps, { "0": [1, 256, 25, 25], "1": [1, 256, 25, 25], pool: [1, 256, 13, 13] });
  const ssd = JSON.parse(await inspect("ssd300-vgg16", "--classes", "21", "--json"));
  assert.equal(ssd.params, 26_285_486);
  assert.deepEqual(ssd.taps.conv4_3, [1, 512, 38, 38]);
  const text = await inspect("fasterrcnn-mobilenet-v3-light", "--classes", "3", "--input", "3x64x96");
  assert.match(text, /^fasterrcnn-mobilenet-v3-light \(task\.detection\)/);
  assert.match(text, /output {6}boxes \[\d+, 4\]\noutput {6}scores \[\d+\]\noutput {6}labels \[\d+\]/);
  assert.match(text, /tap {9}0 \[1, 64, 4, 6\]/);
});

test("inspect --list prints every architecture with kind and description", async () => {
  const lines = (await inspect("--list")).trim().split("\n");
  assert.ok(lines.length >= 14);
  assert.ok(lines.some((l) => /^sr\s+edsr-baseline\s+EDSR-baseline/.test(l)));
  assert.ok(lines.some((l) => /^task\.segmentation\s+deeplabv3-mobilenetv3-large\s/.test(l)));
  assert.ok(lines.some((l) => /^backbone\s+mobilenet-v3-large\s/.test(l)));
  for (const name of [
    "ssd300-vgg16",
    "ssd-light",
    "fasterrcnn-mobilenet-v3-large-fpn",
    "fasterrcnn-mobilenet-v3-light",
  ]) {
    assert.ok(
      lines.some((l) => new RegExp(`^task\\.detection\\s+${name}\\s`).test(l)),
      name,
    );
  }
});

test("inspect rejects unknown names (listing the known ones) and options that do not apply", async () => {
  await assert.rejects(
    inspect("resnet19"),
    (e: unknown) =>
      e instanceof TasksrError && e.code === "E_UNKNOWN_NAME" && /known: .*resnet18, resnet34/.test(e.message),
  );
  await assert.rejects(inspect("resnet18", "--scale", "4"), /--scale applies to SR architectures/);
  await assert.rejects(inspect("edsr-tiny", "--classes", "4"), /--classes applies to task networks/);
  await assert.rejects(inspect("edsr-tiny", "--input", "3x0x8"), /--input must be CxHxW/);
  await assert.rejects(inspect(), /needs an architecture name/);
});
