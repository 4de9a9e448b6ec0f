import assert from "node:assert/strict";
import { test } from "node:test";
import { memory, noGrad, scope, tensor } from "../../src/engine/index.js";
import { BoxCoder } from "../../src/models/boxes/coder.js";
import { Matcher, SsdMatcher } from "../../src/models/boxes/matcher.js";
import {
  batchedNms,
  boxIou,
  clipBoxesToImage,
  cxcywhToXyxy,
  removeSmallBoxes,
  xyxyToCxcywh,
} from "../../src/models/boxes/ops.js";
import { MultiScaleRoiAlign, roiAlign } from "../../src/models/boxes/roi-align.js";
import { AnchorGenerator, DefaultBoxGenerator } from "../../src/models/detection/anchors.js";
import { SSD300_BOXES_ORIGINAL, SSD300_BOXES_TORCHVISION } from "../../src/models/detection/ssd.js";
import { assertClose, fixture } from "./detection-helpers.js";

const R = fixture("boxes");

/** Runs fn and checks that it leaves no tensor behind. */
function leakFree(fn: () => void): void {
  const before = memory().liveTensors;
  scope(fn);
  assert.equal(memory().liveTensors, before, "live tensors changed");
}

test("IoU matrix and xyxy <-> cxcywh match torchvision", () =>
  leakFree(() => {
    const iou = boxIou(R("iou.a"), R("iou.b"));
    assertClose(iou, R("iou.out"), 1e-6, "iou");
    assert.ok(Math.abs(iou.index(2, 3).item() - 1) < 1e-6, "identical boxes have IoU 1");
    const c = xyxyToCxcywh(R("iou.a"));
    assertClose(c, R("convert.cxcywh"), 1e-7, "cxcywh");
    assertClose(cxcywhToXyxy(c), R("convert.back"), 1e-7, "xyxy");
  }));

test("clipping and small-box removal match torchvision", () =>
  leakFree(() => {
    assert.ok(clipBoxesToImage(R("clip.in"), [37, 45]).equal(R("clip.out")));
    assert.deepEqual(removeSmallBoxes(R("clip.in"), 8).toArray(), R("small.keep").toArray());
  }));

test("box coder encode/decode (weights 10,10,5,5 incl. the log(1000/16) clamp; SSD variances)", () =>
  leakFree(() => {
    const coder = new BoxCoder([10, 10, 5, 5]);
    assertClose(coder.encode(R("coder.gt"), R("coder.ref")), R("coder.encoded"), 1e-6, "encode");
    const decoded = coder.decode(R("coder.codes"), R("coder.ref"));
    assertClose(decoded, R("coder.decoded"), 1e-6, "decode");
    // The clamp: an enormous size code gives exactly exp(log(1000/16)) times the reference width.
    const w = decoded.index(0, 2).sub(decoded.index(0, 0)).item();
    const ref = R("coder.ref").toArray();
    assert.ok(Math.abs(w / (ref[2]! - ref[0]!) - 1000 / 16) < 1e-3);
    const ssd = BoxCoder.fromVariances(0.1, 0.2);
    assertClose(ssd.encode(R("coder.gt"), R("coder.ref")), R("coder.ssd.encoded"), 1e-6, "ssd encode");
    // Round trip.
    assertClose(
      coder.decode(coder.encode(R("coder.gt"), R("coder.ref")), R("coder.ref")),
      R("coder.gt"),
      1e-5,
      "round",
    );
  }));

test("batched NMS equals torchvision on both paths (offset trick and per-class)", () =>
  leakFree(() => {
    for (const name of ["small", "large"]) {
      const keep = batchedNms(R(`nms.${name}.boxes`), R(`nms.${name}.scores`), R(`nms.${name}.idxs`), 0.5);
      assert.deepEqual(keep.toArray(), R(`nms.${name}.keep`).toArray(), name);
    }
    const empty = batchedNms(tensor([], { shape: [0, 4] }), tensor([]), tensor([], { dtype: "int64" }), 0.5);
    assert.deepEqual(empty.shape, [0]);
  }));

test("matchers: RPN (0.7/0.3 with low-quality matches), RoI (0.5/0.5), SSD (forced best prior)", () =>
  leakFree(() => {
    const q = R("match.quality");
    assert.deepEqual(new Matcher(0.7, 0.3, true).match(q).toArray(), R("match.rpn").toArray());
    assert.deepEqual(new Matcher(0.5, 0.5, false).match(q).toArray(), R("match.roi").toArray());
    assert.deepEqual(new SsdMatcher(0.5).match(q).toArray(), R("match.ssd").toArray());
  }));

test("anchor generator and default boxes equal torchvision's bit for bit (8732 SSD300 boxes)", () =>
  leakFree(() => {
    const ag = new AnchorGenerator(Array(3).fill([32, 64, 128, 256, 512]), Array(3).fill([0.5, 1, 2]));
    assert.deepEqual(ag.numAnchorsPerLocation(), [15, 15, 15]);
    const a = ag.forward(
      [96, 128],
      [
        [6, 8],
        [3, 4],
        [2, 2],
      ],
      "cpu",
    );
    assert.ok(a.equal(R("anchors.rcnn")), "rcnn anchors");
    const maps = [38, 19, 10, 5, 3, 1].map((s) => [s, s] as const);
    const tv = new DefaultBoxGenerator(SSD300_BOXES_TORCHVISION).forward([300, 300], maps, "cpu");
    assert.deepEqual([...tv.shape], [8732, 4]);
    assert.ok(tv.equal(R("dbox.torchvision")), "torchvision preset");
    assert.ok(
      new DefaultBoxGenerator(SSD300_BOXES_ORIGINAL).forward([300, 300], maps, "cpu").equal(R("dbox.original")),
    );
    const light = new DefaultBoxGenerator({ aspectRatios: [[2], [2, 3], [2]], minRatio: 0.1, maxRatio: 0.6 });
    assert.ok(
      light
        .forward(
          [96, 80],
          [
            [12, 10],
            [6, 5],
            [3, 3],
          ],
          "cpu",
        )
        .equal(R("dbox.light")),
      "stepless",
    );
  }));

test("RoIAlign (engine ops) matches torchvision.ops.roi_align outputs and input gradients", () =>
  leakFree(() => {
    const cases = {
      s2: { spatialScale: 0.5, samplingRatio: 2, aligned: false },
      adaptive: { spatialScale: 0.5, samplingRatio: -1, aligned: false },
      scale1: { spatialScale: 1, samplingRatio: 3, aligned: false },
      aligned: { spatialScale: 0.5, samplingRatio: 2, aligned: true },
    };
    for (const [name, o] of Object.entries(cases)) {
      const x = R("roi.x").clone().requiresGrad_();
      const out = roiAlign(x, R("roi.rois"), { outputSize: [3, 4], ...o });
      out.mul(R("roi.w")).sum().backward();
      assertClose(out.detach(), R(`roi.${name}.out`), 1e-5, `${name} output`);
      assertClose(x.grad!, R(`roi.${name}.grad`), 1e-5, `${name} gradient`);
      // The box entirely outside the map pools to zero.
      assert.equal(out.detach().select(0, 4).abs().max().item(), 0);
    }
    const none = noGrad(() => roiAlign(R("roi.x"), tensor([], { shape: [0, 5] }), { outputSize: 2 }));
    assert.deepEqual([...none.shape], [0, 3, 2, 2]);
  }));

test("MultiScaleRoIAlign: canonical level mapping, scales and gradients match torchvision", () =>
  leakFree(() => {
    const f0 = R("ms.f0").clone().requiresGrad_();
    const f1 = R("ms.f1").clone().requiresGrad_();
    const pool = new MultiScaleRoiAlign(["0", "1"], 7, 2);
    const feats = new Map([
      ["0", f0],
      ["1", f1],
      ["pool", R("ms.pool")],
    ]);
    const out = pool.forward(
      feats,
      [R("ms.boxes0"), R("ms.boxes1")],
      [
        [512, 640],
        [480, 600],
      ],
    );
    out.mul(R("ms.w")).sum().backward();
    assertClose(out.detach(), R("ms.out"), 1e-5, "output");
    assertClose(f0.grad!, R("ms.grad0"), 1e-5, "grad level 0");
    assertClose(f1.grad!, R("ms.grad1"), 1e-5, "grad level 1");
  }));
