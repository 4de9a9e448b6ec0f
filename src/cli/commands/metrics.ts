/**
 * `tasksr metrics psnr|lpips|coco|voc`: evaluation metrics computed from files (docs/metrics.md). The commands parse
 * arguments and print; the work is done by src/metrics. The image decoder and the XML parser are imported only when
 * a command needs them, so that other commands do not load them.
 */
import type { Command } from "commander";
import { TasksrError } from "../../errors.js";
import { evaluateCocoFiles } from "../../metrics/coco/files.js";
import { cocoLenientWarnings } from "../../metrics/coco/lenient.js";
import { formatCocoStats } from "../../metrics/coco/summarize.js";
import { SR_PROTOCOLS, type SrProtocol } from "../../metrics/sr-protocol.js";
import { VocEvaluator, type VocOptions } from "../../metrics/voc.js";

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new TasksrError("E_CLI_ARG", `${flag} must be one of ${allowed.join(", ")}, got "${value}"`);
  }
  return value as T;
}

function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new TasksrError("E_CLI_ARG", `${flag} must be a positive integer, got "${value}"`);
  return n;
}

function print(json: unknown): void {
  // JSON has no NaN/Infinity: they become null (documented in --help).
  console.log(JSON.stringify(json, null, 2));
}

const fmt = (v: number | undefined, digits: number) =>
  v === undefined ? "" : Number.isFinite(v) ? v.toFixed(digits) : String(v);

function registerPsnr(metrics: Command): void {
  metrics
    .command("psnr")
    .description("PSNR (and SSIM) of SR images against HR images under a named protocol")
    .argument("<sr>", "SR image file, or a directory of them")
    .argument("<hr>", "HR image file, or a directory (paired with the SR images by file name without extension)")
    .requiredOption(
      "--protocol <name>",
      "sr4ir (RGB, crop 8, mean over non-identical images) or basicsr (Y, crop = scale)",
    )
    .option("--scale <s>", "SR scale; required by basicsr (its crop); lets an HR exceed the SR by less than s px")
    .option("--ssim", "also compute SSIM (11x11 Gaussian window, sigma 1.5, on the same planes)")
    .option("--json", "print one JSON object (an infinite PSNR, identical images, is null)")
    .addHelpText(
      "after",
      "\nImages: PNG/JPEG/WebP/TIFF, 8 bits. basicsr compares grey images on their raw values. An HR image larger than " +
        "its SR by less than the scale on each side is cropped top-left to the SR size (HR not cut to a multiple of " +
        "the scale); other size differences are errors.",
    )
    .action(async (sr: string, hr: string, o: { protocol: string; scale?: string; ssim?: boolean; json?: boolean }) => {
      const protocol = oneOf<SrProtocol>("--protocol", o.protocol, SR_PROTOCOLS);
      const scale = o.scale === undefined ? undefined : positiveInteger("--scale", o.scale);
      if (protocol === "basicsr" && scale === undefined) {
        throw new TasksrError("E_CLI_ARG", "--protocol basicsr needs --scale (the border crop equals the scale)");
      }
      const { evaluateSrFiles } = await import("../../metrics/sr-files.js");
      const report = await evaluateSrFiles(sr, hr, { protocol, scale, ssim: o.ssim === true });
      if (o.json) {
        print(report);
        return;
      }
      const width = Math.max(10, ...report.images.map((r) => r.name.length));
      console.log(`${"image".padEnd(width)}  PSNR (dB)${o.ssim ? "     SSIM" : ""}`);
      for (const r of report.images) {
        const note = r.hrCropped ? "  (HR cropped to the SR size)" : "";
        console.log(
          `${r.name.padEnd(width)}  ${fmt(r.psnr, 4).padStart(9)}${o.ssim ? fmt(r.ssim, 4).padStart(9) : ""}${note}`,
        );
      }
      const p = report.psnr;
      const skipped = p.skipped > 0 ? `, ${p.skipped} identical pair(s) left out` : "";
      console.log(
        `${"mean".padEnd(width)}  ${fmt(p.psnr, 4).padStart(9)}${o.ssim ? fmt(report.ssim?.ssim, 4).padStart(9) : ""}` +
          `  [${protocol}, crop ${report.crop} px, ${p.images} image(s)${skipped}]`,
      );
    });
}

function registerLpips(metrics: Command): void {
  metrics
    .command("lpips")
    .description("LPIPS v0.1 of SR images against HR images (AlexNet or VGG16), with your weight files")
    .argument("<sr>", "SR image file, or a directory of them")
    .argument("<hr>", "HR image file, or a directory (paired by file name without extension)")
    .option("--net <net>", "alex or vgg (SR4IR reports vgg)", "vgg")
    .requiredOption("--backbone <file>", "torchvision alexnet/vgg16 weights (.pth or safetensors)")
    .requiredOption("--lin <file>", "the lpips package's weights/v0.1/<net>.pth")
    .option("--scale <s>", "lets an HR exceed the SR by less than s px (cropped top-left)")
    .option("--json", "print one JSON object")
    .action(
      async (
        sr: string,
        hr: string,
        o: { net: string; backbone: string; lin: string; scale?: string; json?: boolean },
      ) => {
        const net = oneOf("--net", o.net, ["alex", "vgg"] as const);
        const scale = o.scale === undefined ? undefined : positiveInteger("--scale", o.scale);
        const { evaluateLpipsFiles } = await import("../../metrics/lpips-files.js");
        const report = await evaluateLpipsFiles(sr, hr, { net, backbone: o.backbone, lin: o.lin, scale });
        if (o.json) {
          print(report);
          return;
        }
        const width = Math.max(10, ...report.images.map((r) => r.name.length));
        console.log(`${"image".padEnd(width)}  LPIPS (${net})`);
        for (const r of report.images) console.log(`${r.name.padEnd(width)}  ${fmt(r.lpips, 4).padStart(8)}`);
        console.log(`${"mean".padEnd(width)}  ${fmt(report.lpips, 4).padStart(8)}  [${report.images.length} image(s)]`);
      },
    );
}

function registerCoco(metrics: Command): void {
  metrics
    .command("coco")
    .description("COCO bbox AP/AR (pycocotools COCOeval semantics): the 12 summary numbers")
    .requiredOption("--gt <file>", "COCO instances JSON (images, annotations with bbox/area/iscrowd, categories)")
    .requiredOption("--dt <file>", "COCO results JSON: a list of {image_id, category_id, bbox: [x, y, w, h], score}")
    .option("--json", "print one object with keys AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl")
    .option(
      "--strict",
      "refuse detections of unknown categories, annotations on unlisted images or categories and reused annotation " +
        "ids (by default they are evaluated as pycocotools does, with a warning on stderr)",
    )
    .addHelpText("after", "\nValues are fractions in [0, 1]; -1 where a setting has no ground truth (as pycocotools).")
    .action((o: { gt: string; dt: string; json?: boolean; strict?: boolean }) => {
      const r = evaluateCocoFiles(o.gt, o.dt, { strict: o.strict === true });
      // stderr, so that --json output stays one JSON document.
      for (const line of cocoLenientWarnings(r.lenient, o.gt, o.dt)) console.error(`tasksr: warning: ${line}`);
      if (o.json) print(r.stats);
      else console.log(formatCocoStats(r.stats));
    });
}

function registerVoc(metrics: Command): void {
  metrics
    .command("voc")
    .description("PASCAL VOC AP per class and mAP (VOC devkit matching)")
    .requiredOption("--gt <path>", "VOC Annotations directory (<image id>.xml) or COCO instances JSON")
    .requiredOption(
      "--dt <path>",
      "COCO results JSON, or VOC devkit result file(s): a .txt file or a directory of them",
    )
    .option("--iou <t>", "IoU threshold in (0, 1]", "0.5")
    .option("--metric <m>", "11pt (VOC2007 11-point) or area (VOC2010+ all-point)", "11pt")
    .option(
      "--difficult <mode>",
      "ignore (VOC07 evaluation) or count difficult objects as ordinary ground truth",
      "ignore",
    )
    .option(
      "--boxes <convention>",
      "inclusive (devkit: width = x2 - x1 + 1) or continuous (width = x2 - x1)",
      "inclusive",
    )
    .option("--json", "print one JSON object (NaN, a class without positives, is null)")
    .addHelpText(
      "after",
      [
        "",
        "Ground truth:",
        "  VOC XML: <annotation><object><name>dog</name><difficult>0</difficult>",
        "           <bndbox><xmin>..</xmin><ymin>..</ymin><xmax>..</xmax><ymax>..</ymax></bndbox></object>...",
        "           image id = XML file name without .xml",
        "  COCO JSON: class = category name; box = [x, y, x + w, y + h]; optional annotations[].difficult (0/1)",
        "Detections:",
        "  COCO results JSON (needs a COCO JSON ground truth): [{image_id, category_id, bbox: [x, y, w, h], score}]",
        "  devkit .txt, one file per class named <anything>_det_<set>_<class>.txt or <class>.txt, one line per box:",
        "           <image id> <score> <xmin> <ymin> <xmax> <ymax>",
      ].join("\n"),
    )
    .action(
      async (o: {
        gt: string;
        dt: string;
        iou: string;
        metric: string;
        difficult: string;
        boxes: string;
        json?: boolean;
      }) => {
        const iou = Number(o.iou);
        if (!(iou > 0 && iou <= 1)) {
          throw new TasksrError("E_CLI_ARG", `--iou must be a number in (0, 1], got "${o.iou}"`);
        }
        const options: VocOptions = {
          iou,
          metric: oneOf("--metric", o.metric, ["11pt", "area"] as const),
          difficult: oneOf("--difficult", o.difficult, ["ignore", "count"] as const),
          boxes: oneOf("--boxes", o.boxes, ["inclusive", "continuous"] as const),
        };
        const { readVocDetections, readVocGroundTruth } = await import("../../metrics/voc-files.js");
        const gt = readVocGroundTruth(o.gt);
        const ev = new VocEvaluator(gt, options);
        ev.update(readVocDetections(o.dt, gt));
        const r = ev.compute();
        if (o.json) {
          print({ ...options, map: r.map, classes: r.classes, unevaluatedDetections: r.unevaluatedDetections });
          return;
        }
        const width = Math.max(8, ...r.classes.map((c) => c.className.length));
        console.log(`${"class".padEnd(width)}      AP  positives  detections`);
        for (const c of r.classes) {
          console.log(
            `${c.className.padEnd(width)}  ${fmt(c.ap, 4).padStart(6)}  ${String(c.positives).padStart(9)}  ${String(c.detections).padStart(10)}`,
          );
        }
        console.log(
          `${"mAP".padEnd(width)}  ${fmt(r.map, 4).padStart(6)}  [${options.metric}, IoU ${iou}, difficult ${options.difficult}]`,
        );
        if (r.unevaluatedDetections > 0) {
          console.log(`${r.unevaluatedDetections} detection(s) of classes without ground truth were not evaluated`);
        }
      },
    );
}

export function registerMetrics(program: Command): void {
  const metrics = program
    .command("metrics")
    .description("evaluation metrics from files: PSNR/SSIM, LPIPS, COCO AP, VOC AP");
  registerPsnr(metrics);
  registerLpips(metrics);
  registerCoco(metrics);
  registerVoc(metrics);
}
