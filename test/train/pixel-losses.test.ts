import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadRunConfig } from "../../src/config/load.js";
import { scope, tensor } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { definePixelLoss, getPixelLoss, listPixelLosses } from "../../src/losses/pixel.js";
import { pixelLoss } from "../../src/train/losses.js";
import { FIXTURES, REPO } from "../support/paths.js";

// tools/fixtures/pixel_losses.py: torch's l1_loss/mse_loss and BasicSR's Charbonnier formula, in float64.
const fx = JSON.parse(readFileSync(join(FIXTURES, "train", "pixel_losses.json"), "utf8")) as {
  shape: number[];
  a: number[];
  b: number[];
  losses: Record<string, { value: number; grad_a: number[] }>;
};
const SR4IR = join(REPO, "configs", "cpu", "014_SR4IR_x4.yaml");

test("l1, mse and charbonnier equal their references, values and gradients (equal entries included)", () => {
  assert.deepEqual(
    listPixelLosses()
      .map((l) => l.name)
      .filter((n) => n in fx.losses),
    ["charbonnier", "l1", "mse"],
  );
  for (const [name, want] of Object.entries(fx.losses)) {
    scope(() => {
      const a = tensor(fx.a, { shape: fx.shape }).requiresGrad_();
      const b = tensor(fx.b, { shape: fx.shape });
      const v = getPixelLoss(name).fn(a, b);
      // float32 sums of 120 terms against float64: 1e-6 relative is ~10 ulp.
      assert.ok(
        Math.abs(v.item() - want.value) <= 1e-6 * Math.abs(want.value),
        `${name}: ${v.item()} vs ${want.value}`,
      );
      v.backward();
      const g = a.grad!.reshape(-1).tolist() as number[];
      const scale = Math.max(...want.grad_a.map(Math.abs));
      const err = Math.max(...g.map((x, i) => Math.abs(x - want.grad_a[i]!)));
      assert.ok(err <= 1e-6 * scale, `${name} gradient: max error ${err} of ${scale}`);
    });
  }
});

test("a pixel loss defined from outside is accepted by configs and used by the recipes' pixelLoss", () => {
  definePixelLoss({ name: "test-l1-twice", description: "2 · L1", fn: (a, b) => getPixelLoss("l1").fn(a, b).mul(2) });
  const cfg = loadRunConfig(SR4IR, ["recipe.pixelLoss=test-l1-twice", "recipe.tdp.criterion=charbonnier"]);
  assert.equal(cfg.recipe.name === "sr4ir" && cfg.recipe.pixelLoss, "test-l1-twice");
  scope(() => {
    const a = tensor([1, 2, 3]);
    const b = tensor([1, 1, 1]);
    assert.equal(pixelLoss("test-l1-twice", a, b).item(), 2);
  });
  assert.throws(
    () => definePixelLoss({ name: "l1", description: "again", fn: (a) => a }),
    (e: unknown) => e instanceof TasksrError && /pixel loss "l1" is defined twice/.test(e.message),
  );
});

test("an unknown pixel loss is one config error naming the field and the known losses", () => {
  assert.throws(
    () => loadRunConfig(SR4IR, ["recipe.pixelLoss=l2"]),
    (e: unknown) =>
      e instanceof TasksrError &&
      e.code === "E_CONFIG" &&
      /recipe\.pixelLoss: unknown pixel loss "l2"; known: charbonnier, l1, mse/.test(e.message),
  );
  assert.throws(() => getPixelLoss("l2"), /unknown pixel loss "l2"; known: /);
});
