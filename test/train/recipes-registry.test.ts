import assert from "node:assert/strict";
import { test } from "node:test";
import { TasksrError } from "../../src/errors.js";
import { defineRecipe, getRecipe, hasRecipe, listRecipes } from "../../src/train/recipes/index.js";

test("the recipes register once each, in the papers' table order, with their labels and networks", () => {
  assert.deepEqual(
    listRecipes().map((r) => [r.name, r.label]),
    [
      ["hr2task", "H→T"],
      ["lr2task", "L→T"],
      ["sr-ft", "SR-FT"],
      ["sr2task", "S→T"],
      ["task2sr", "T→S"],
      ["joint", "S+T"],
      ["sr4ir", "SR4IR"],
    ],
  );
  // Only the settings that run an SR network train it or need it; the task-free SR-FT trains S alone.
  for (const r of listRecipes()) if (r.nets.trainsSr) assert.ok(r.nets.usesSr, r.name);
  assert.deepEqual(getRecipe("sr-ft").nets, { trainsSr: true, trainsTask: false, usesSr: true });
  assert.equal(hasRecipe("sr4ir"), true);
  assert.equal(hasRecipe("sr5ir"), false);
  assert.throws(
    () => defineRecipe({ ...getRecipe("joint") }),
    (e: unknown) => e instanceof TasksrError && /recipe "joint" is defined twice/.test(e.message),
  );
  assert.throws(() => getRecipe("nope" as "joint"), /unknown recipe "nope"; known: hr2task, lr2task/);
});
