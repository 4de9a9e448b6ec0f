// Every `tasksr demo --task` preset plans runs whose networks build with their options and whose SR4IR taps exist,
// so a variant that CI does not train end to end still cannot ship a broken preset.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Task } from "../../src/data/types.js";
import { demoStudy } from "../../src/study/demo.js";
import { planStudy } from "../../src/study/plan.js";
import { buildTaskAdapter } from "../../src/tasks/index.js";

const TMP = mkdtempSync(join(tmpdir(), "tasksr-demo-presets-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

for (const task of ["classification", "segmentation", "detection"] as Task[]) {
  test(`demo preset for ${task}: six settings, networks build, SR4IR taps exist`, async () => {
    const { study } = await demoStudy({
      task,
      scale: 4,
      quick: true,
      device: "cpu",
      cache: join(TMP, "cache"),
      seeds: [0],
    });
    const runs = planStudy(study, { out: join(TMP, "runs"), where: "demo" });
    assert.deepEqual(
      runs.map((r) => r.setting),
      ["hr2task", "lr2task", "sr-ft", "sr2task", "task2sr", "sr4ir"],
    );
    for (const r of runs) {
      assert.equal(r.cfg.task, task);
      const adapter = buildTaskAdapter(r.cfg.task, r.cfg.taskNet.arch, r.cfg.taskNet.options, 5);
      if (r.cfg.recipe.name === "sr4ir") {
        const taps = Object.keys(r.cfg.recipe.tdp?.taps ?? {});
        assert.ok(taps.length > 0, "SR4IR has TDP taps");
        for (const t of taps)
          assert.ok(adapter.tapNames.includes(t), `${task}: tap ${t} of ${adapter.tapNames.join(", ")}`);
      }
      adapter.net.dispose();
    }
  });
}
