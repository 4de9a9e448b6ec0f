import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { CocoDetection } from "../../src/data/datasets/coco_detection.js";
import { ImageFolder } from "../../src/data/datasets/image_folder.js";
import { YoloDetection } from "../../src/data/datasets/yolo.js";
import { TasksrError } from "../../src/errors.js";
import { pattern, put, putImage, tempDir } from "../support/data_trees.js";

const badFile = (re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_BAD_FILE" && re.test(e.message);

async function tinyCoco(annotations: unknown[]): Promise<string> {
  const root = tempDir("coco");
  await putImage(join(root, "img", "a.jpg"), pattern(20, 10, 1));
  await putImage(join(root, "img", "b.jpg"), pattern(20, 10, 2));
  await putImage(join(root, "img", "c.png"), pattern(8, 8, 3));
  const json = {
    images: [
      { id: 7, file_name: "a.jpg", width: 20, height: 10 },
      { id: 9, file_name: "b.jpg", width: 20, height: 10 },
      { id: 11, file_name: "c.png", width: 8, height: 8 },
    ],
    annotations,
    categories: [
      { id: 18, name: "dog" },
      { id: 1, name: "person" },
      { id: 3, name: "car" },
    ],
  };
  put(join(root, "instances.json"), JSON.stringify(json));
  return root;
}

const anns = [
  { id: 1, image_id: 7, category_id: 18, bbox: [1, 2, 3, 4], iscrowd: 0 },
  { id: 2, image_id: 7, category_id: 1, bbox: [15, 5, 10, 10], iscrowd: 1 },
  { id: 3, image_id: 9, category_id: 3, bbox: [4, 4, 0, 3] },
];

test("coco-det: ids -> contiguous labels by id, xywh -> xyxy clipped, iscrowd kept, degenerate dropped", async () => {
  const root = await tinyCoco(anns);
  const ds = await CocoDetection.open({ root, images: "img", annotations: "instances.json" });
  assert.deepEqual(ds.classes, ["person", "car", "dog"]);
  assert.deepEqual(ds.categoryIds, [1, 3, 18]);
  assert.equal(ds.length, 3);
  const a = await ds.get(0);
  assert.equal(a.id, "7");
  assert.deepEqual(Array.from(a.target.boxes), [1, 2, 4, 6, 15, 5, 20, 10]);
  assert.deepEqual(Array.from(a.target.labels), [2, 0]);
  assert.deepEqual(Array.from(a.target.iscrowd), [0, 1]);
  assert.equal((await ds.get(1)).target.labels.length, 0); // its only box has zero width
  assert.deepEqual(await ds.size(2), { width: 8, height: 8 });
  const dropped = await CocoDetection.open({ root, images: "img", annotations: "instances.json", emptyImages: "drop" });
  assert.equal(dropped.length, 1);
});

test("coco-det: an unknown category id names the annotation id and the file; skip drops that image", async () => {
  const root = await tinyCoco([...anns, { id: 44, image_id: 9, category_id: 5, bbox: [1, 1, 2, 2] }]);
  await assert.rejects(
    CocoDetection.open({ root, images: "img", annotations: "instances.json" }),
    badFile(/COCO JSON .*instances\.json: annotation id 44 has category_id 5, which is not in "categories"/),
  );
  const ds = await CocoDetection.open({ root, images: "img", annotations: "instances.json", onBadSample: "skip" });
  assert.equal(ds.length, 2);
  assert.deepEqual(
    ds.skipped.map((s) => s.id),
    ["9"],
  );
});

test("coco-det: malformed JSON and a missing field are errors naming the file and the path", async () => {
  const root = await tinyCoco(anns);
  put(join(root, "broken.json"), '{"images": [');
  await assert.rejects(
    CocoDetection.open({ root, images: "img", annotations: "broken.json" }),
    badFile(/COCO JSON .*broken\.json is malformed/),
  );
  put(
    join(root, "nobbox.json"),
    JSON.stringify({ images: [], annotations: [{ id: 1, image_id: 1, category_id: 1 }], categories: [] }),
  );
  await assert.rejects(
    CocoDetection.open({ root, images: "img", annotations: "nobbox.json" }),
    badFile(/nobbox\.json does not fit the format: annotations\[0\]\.bbox: /),
  );
});

test("coco-det: a truncated image is an error naming it; skip substitutes the next sample", async () => {
  const root = await tinyCoco(anns);
  put(join(root, "img", "b.jpg"), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]));
  const ds = await CocoDetection.open({ root, images: "img", annotations: "instances.json" });
  await assert.rejects(ds.get(1), badFile(/cannot decode image .*b\.jpg/));
  const skip = await CocoDetection.open({ root, images: "img", annotations: "instances.json", onBadSample: "skip" });
  assert.equal((await skip.get(1)).id, "11");
  assert.equal(skip.skipped.length, 1);
  assert.match(skip.skipped[0]!.reason, /b\.jpg/);
});

test("image-folder: sorted class folders, recursive files, torchvision order", async () => {
  const root = tempDir("folder");
  for (const f of ["dog/b.jpg", "dog/a.png", "cat/z/1.jpg", "cat/0.JPEG", "cat/notes.txt", "ant/x.webp"]) {
    if (f.endsWith(".txt")) put(join(root, f), "not an image");
    else await putImage(join(root, f), pattern(6, 4)); // JPEG bytes; the extension only has to be an image one
  }
  const ds = await ImageFolder.open({ root });
  assert.deepEqual(ds.classes, ["ant", "cat", "dog"]);
  const ids = await Promise.all(Array.from({ length: ds.length }, async (_, i) => (await ds.get(i)).id));
  assert.deepEqual(ids, ["ant/x", "cat/0", "cat/z/1", "dog/a", "dog/b"]);
  assert.deepEqual((await ds.get(2)).target, { kind: "class", label: 1 });
  put(join(root, "empty", "readme.md"), "-");
  await assert.rejects(ImageFolder.open({ root }), badFile(/class folder .*empty has no image/));
});

test("yolo: normalised boxes scaled by the image size, missing label files = no objects", async () => {
  const root = tempDir("yolo");
  await putImage(join(root, "images", "train", "a.jpg"), pattern(40, 20));
  await putImage(join(root, "images", "train", "b.jpg"), pattern(10, 10));
  put(join(root, "labels", "train", "a.txt"), "1 0.5 0.5 0.5 0.2\n\n0 0.25 0.75 0.1 0.5\n");
  put(join(root, "names.yaml"), "names:\n  0: cat\n  1: dog\n");
  const ds = await YoloDetection.open({ root, images: "images/train", classes: "names.yaml" });
  assert.deepEqual(ds.classes, ["cat", "dog"]);
  const a = await ds.get(0);
  assert.deepEqual(Array.from(a.target.boxes), [10, 8, 30, 12, 8, 10, 12, 20]);
  assert.deepEqual(Array.from(a.target.labels), [1, 0]);
  assert.equal((await ds.get(1)).target.boxes.length, 0);
  put(join(root, "labels", "train", "b.txt"), "2 0.5 0.5 0.1 0.1\n");
  await assert.rejects(
    YoloDetection.open({ root, images: "images/train", classes: ["cat", "dog"] }),
    badFile(/YOLO label file .*b\.txt line 1: class 2 is not an integer in \[0, 2\)/),
  );
  put(join(root, "labels", "train", "b.txt"), "0 0.5 1.5 0.1 0.1\n");
  await assert.rejects(
    YoloDetection.open({ root, images: "images/train", classes: ["cat", "dog"] }),
    badFile(/line 1: cy = 1\.5 is not a normalised value/),
  );
  const skip = await YoloDetection.open({ root, images: "images/train", classes: ["cat", "dog"], onBadSample: "skip" });
  assert.equal(skip.length, 1);
  assert.deepEqual(
    skip.skipped.map((s) => s.id),
    ["b"],
  );
});
