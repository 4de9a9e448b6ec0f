import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { vocToCoco } from "../../src/data/convert/voc2coco.js";
import { CocoDetection } from "../../src/data/datasets/coco_detection.js";
import { VocDetection } from "../../src/data/datasets/voc_detection.js";
import { TasksrError } from "../../src/errors.js";
import { put, tempDir, vocXml, writeTinyVoc } from "../support/data_trees.js";
import { FIXTURES, REPO } from "../support/paths.js";

const EXPECTED = readFileSync(join(FIXTURES, "data", "voc2coco_expected.json"), "utf8");

test("tasksr convert voc2coco writes the hand-written expected JSON (key order included)", async () => {
  const root = tempDir("voc2coco");
  await writeTinyVoc(root);
  const out = join(root, "instances_train.json");
  const r = spawnSync(
    process.execPath,
    [join(REPO, "bin", "tasksr.js"), "convert", "voc2coco", "--root", root, "--split", "train", "--out", out],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /3 images, 4 annotations/);
  const written = readFileSync(out, "utf8");
  assert.equal(written, JSON.stringify(JSON.parse(EXPECTED)));
});

test("the converted JSON loads as coco-det with the same boxes as voc-det (integer coordinates)", async () => {
  const root = tempDir("voc2coco");
  await writeTinyVoc(root);
  put(
    join(root, "Annotations", "2008_000001.xml"),
    vocXml("2008_000001.jpg", 24, 16, [{ name: "dog", box: [3, 2, 20, 15] }]),
  );
  writeFileSync(join(root, "instances.json"), JSON.stringify(await vocToCoco({ root, split: "train" })));
  const coco = await CocoDetection.open({
    images: join(root, "JPEGImages"),
    annotations: join(root, "instances.json"),
  });
  const voc = await VocDetection.open({ root });
  assert.equal(coco.length, voc.length);
  for (let i = 0; i < voc.length; i++) {
    const [a, b] = await Promise.all([coco.get(i), voc.get(i)]);
    assert.equal(a.id, b.id);
    assert.deepEqual(Array.from(a.target.boxes), Array.from(b.target.boxes));
    assert.deepEqual(Array.from(a.target.labels), Array.from(b.target.labels));
  }
});

test("voc2coco: <path> names the file; a missing <bndbox> stops with the file and object index", async () => {
  const root = tempDir("voc2coco");
  await writeTinyVoc(root);
  const xml = join(root, "Annotations", "2008_000003.xml");
  writeFileSync(xml, readFileSync(xml, "utf8").replace("<folder>", "<path>/data/x/2008_000003.png</path><folder>"));
  const json = await vocToCoco({ root, split: "train" });
  assert.deepEqual(json.images[2], { file_name: "2008_000003.png", height: 16, width: 24, id: "2008_000003" });
  put(xml, vocXml("2008_000003.jpg", 24, 16, [{ name: "cat", box: [1, 1, 2, 2] }]).replace(/<bndbox>.*<\/bndbox>/, ""));
  await assert.rejects(
    vocToCoco({ root, split: "train" }),
    (e: unknown) => e instanceof TasksrError && /2008_000003\.xml: object\[0\] \(cat\) has no <bndbox>/.test(e.message),
  );
  const r = spawnSync(
    process.execPath,
    [join(REPO, "bin", "tasksr.js"), "convert", "voc2coco", "--root", root, "--out", join(root, "x.json")],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /tasksr: error: VOC annotation .*2008_000003\.xml: object\[0\] \(cat\) has no <bndbox> \[E_BAD_FILE/,
  );
});
