/**
 * `tasksr upscale --sr <run|checkpoint|weights> <input image|dir> <output> [--tile N --overlap M]`: SR inference
 * on images of any size, tile by tile (src/infer/tile.ts), with a progress bar on a terminal. A folder input is
 * processed recursively and mirrored into the output folder with the same file names (formats other than
 * PNG/JPEG/WebP are written as .png). Ctrl-C stops after the current tile. Tiles are written straight into the 8-bit
 * output, and on the CPU an image whose estimated memory exceeds --max-memory is refused before it starts
 * (src/infer/budget.ts). Outputs are written atomically (src/infer/output.ts).
 */
import { mkdir, stat } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import type { Command } from "commander";
import { IMAGE_EXTENSIONS, listFilesRecursive } from "../../data/datasets/files.js";
import type { Image } from "../../data/io/image.js";
import { TasksrError } from "../../errors.js";
import type { TileOptions } from "../../infer/tiles.js";
import { withInterrupt } from "../interrupt.js";

interface RawOptions {
  sr: string;
  backend: string;
  arch?: string;
  scale?: string;
  tile: string;
  overlap: string;
  device: string;
  maxMemory: string;
}

const WRITABLE = [".png", ".jpg", ".jpeg", ".webp"];

function int(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new TasksrError("E_CLI_ARG", `${flag} must be an integer >= ${min}, got "${v}"`);
  }
  return n;
}

/** Output name for an input file: the same name, or .png when the format cannot be written. */
const outputName = (rel: string): string =>
  WRITABLE.includes(extname(rel).toLowerCase()) ? rel : `${rel.slice(0, rel.length - extname(rel).length)}.png`;

export function registerUpscale(program: Command): void {
  program
    .command("upscale")
    .description("super-resolve images of any size with a trained SR network (tiled, with a progress bar)")
    .argument("<input>", "LR image, or a folder of images (searched recursively)")
    .argument("<output>", "output image file, or a folder (created; file names kept)")
    .requiredOption("--sr <run|checkpoint|weights>", "run folder, tasksr checkpoint, safetensors or EDSR/DBPN .pt/.pth")
    .option("--backend <name>", "libtorch, or onnx (onnxruntime-node; --sr is then an .onnx file)", "libtorch")
    .option("--arch <name>", "SR architecture of plain weights without metadata (e.g. edsr-baseline, dbpn)")
    .option("--scale <s>", "scale of plain weights without metadata")
    .option("--tile <n>", "LR tile side in pixels (0 = whole image at once)", "512")
    .option("--overlap <m>", "LR pixels of context around each tile (exact when >= the receptive field)", "40")
    .option("--device <device>", "cpu, cuda, cuda:N or auto", "auto")
    .option("--max-memory <GB>", "memory budget in GB on the CPU: an image estimated to need more is refused", "8")
    .action(async (input: string, output: string, o: RawOptions) => {
      const tile = int("--tile", o.tile, 0);
      const overlap = int("--overlap", o.overlap, 0);
      const scale = o.scale === undefined ? undefined : int("--scale", o.scale, 1);
      const maxMemory = Number(o.maxMemory);
      if (o.maxMemory.trim() === "" || !(maxMemory > 0)) {
        throw new TasksrError("E_CLI_ARG", `--max-memory must be a positive number of GB, got "${o.maxMemory}"`);
      }
      if (o.backend !== "libtorch" && o.backend !== "onnx") {
        throw new TasksrError("E_CLI_ARG", `--backend must be libtorch or onnx, got "${o.backend}"`);
      }
      if (o.backend === "onnx" && !o.sr.endsWith(".onnx")) {
        throw new TasksrError("E_CLI_ARG", `--backend onnx: --sr must be an .onnx file (tasksr export), got "${o.sr}"`);
      }
      const info = await stat(input).catch(() => {
        throw new TasksrError("E_CLI_ARG", `input ${input} does not exist`);
      });
      let jobs: { from: string; to: string; name: string }[];
      if (info.isDirectory()) {
        const files = await listFilesRecursive(input, IMAGE_EXTENSIONS, "input");
        if (files.length === 0) throw new TasksrError("E_CLI_ARG", `input folder ${input} holds no image`);
        jobs = files.map((rel) => ({ from: join(input, rel), to: join(output, outputName(rel)), name: rel }));
      } else {
        const toFile = IMAGE_EXTENSIONS.some((e) => output.toLowerCase().endsWith(e));
        if (toFile && !WRITABLE.includes(extname(output).toLowerCase())) {
          throw new TasksrError("E_CLI_ARG", `output ${output}: write .png, .jpg or .webp`);
        }
        const name = basename(input);
        jobs = [{ from: input, to: toFile ? output : join(output, outputName(name)), name }];
      }
      const { writeImageAtomic } = await import("../../infer/output.js");
      const { readImage } = await import("../../data/io/image.js");
      const { ProgressBar } = await import("../progress.js");
      const backend = o.backend === "onnx" ? await onnxBackend(o) : await libtorchBackend(o, scale, maxMemory);
      const t0 = performance.now();
      let done = 0;
      try {
        await withInterrupt(async (signal) => {
          for (const job of jobs) {
            const img = await readImage(job.from);
            backend.check(img, { tile, overlap, where: job.from });
            const bar = new ProgressBar(`[${done + 1}/${jobs.length}] ${job.name}`, "tiles");
            let image: Image;
            try {
              const onProgress = (d: number, n: number) => bar.update(d, n);
              image = await backend.upscale(img, { tile, overlap, signal, onProgress });
            } finally {
              bar.finish();
            }
            await mkdir(dirname(job.to), { recursive: true });
            await writeImageAtomic(job.to, image);
            done++;
          }
        });
      } catch (err) {
        if (err instanceof Error && err.name === "AbortError") {
          console.error(`tasksr upscale: stopped after ${done} of ${jobs.length} image(s)`);
          process.exitCode = 130;
          return;
        }
        throw err;
      } finally {
        await backend.dispose();
      }
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(`upscaled ${done} image(s) with ${backend.description} in ${seconds} s -> ${output}`);
    });
}

/** What the command needs of an inference backend. */
interface Backend {
  description: string;
  /** Refuses an image that would not fit (before any work). */
  check(img: Image, o: { tile: number; overlap: number; where: string }): void;
  upscale(img: Image, o: TileOptions): Promise<Image>;
  dispose(): Promise<void> | void;
}

async function libtorchBackend(o: RawOptions, scale: number | undefined, maxMemory: number): Promise<Backend> {
  // The engine loads only after the arguments are checked.
  const { resolveDevice } = await import("../../engine/system.js");
  const { loadSr } = await import("../../infer/sources.js");
  const { upscaleImage } = await import("../../infer/tile.js");
  const { checkMemory, measureForward } = await import("../../infer/budget.js");
  const device = resolveDevice(o.device);
  const sr = loadSr(o.sr, { arch: o.arch, scale, device });
  // Measured on the first image only; the budget is host memory, which a CUDA forward pass does not use.
  let cost: ReturnType<typeof measureForward> | undefined;
  return {
    description: sr.description,
    check(img, { tile, overlap, where }) {
      if (device !== "cpu") return;
      cost ??= measureForward(sr.net);
      const held = process.memoryUsage.rss();
      const budgetBytes = maxMemory * 1e9;
      checkMemory(cost, held, [img.height, img.width], sr.net.scale, { tile, overlap, budgetBytes, where });
    },
    upscale: (img, t) => upscaleImage(sr.net, img, { ...t, device }),
    dispose: () => sr.net.dispose(),
  };
}

/** onnxruntime-node on the CPU; the libtorch memory estimate does not apply to it, so --max-memory is not used. */
async function onnxBackend(o: RawOptions): Promise<Backend> {
  if (o.arch !== undefined || o.scale !== undefined) {
    throw new TasksrError("E_CLI_ARG", "--backend onnx reads the scale off the model; drop --arch and --scale");
  }
  if (o.device !== "auto" && o.device !== "cpu") {
    throw new TasksrError("E_CLI_ARG", `--backend onnx runs on the CPU; got --device ${o.device}`);
  }
  const { createUpscaler } = await import("../../infer/upscaler.js");
  const up = await createUpscaler({ model: o.sr });
  return {
    description: `${o.sr} (onnxruntime-node x${up.scale})`,
    check() {},
    upscale: (img, t) => up.upscale(img, t),
    dispose: () => up.release(),
  };
}
