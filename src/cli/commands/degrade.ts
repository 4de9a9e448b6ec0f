/**
 * `tasksr degrade`: writes LR PNGs from HR images with the degradation pipeline (blur -> downscale -> noise -> JPEG).
 * A folder input is processed recursively and mirrored into the output folder, each file keeping its name with a
 * .png extension. Grey images stay grey. Each file's noise seed is derived from --seed and its relative path, so a
 * file gets the same LR alone or within a folder.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import type { Command } from "commander";
import { IMAGE_EXTENSIONS, listFilesRecursive } from "../../data/datasets/files.js";
import type { DegradeOptions } from "../../data/degrade/pipeline.js";
import { TasksrError } from "../../errors.js";

interface RawOptions {
  method: string;
  scale: string;
  blurSigma?: string;
  blurSize?: string;
  noiseSigma?: string;
  jpeg?: string;
  seed: string;
}

function num(flag: string, v: string, integer: boolean): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new TasksrError("E_CLI_ARG", `${flag} must be ${integer ? "an integer" : "a number"}, got "${v}"`);
  }
  return n;
}

function toOptions(o: RawOptions): DegradeOptions {
  if (o.method !== "torch-bicubic" && o.method !== "matlab-bicubic") {
    throw new TasksrError("E_CLI_ARG", `--method must be torch-bicubic or matlab-bicubic, got "${o.method}"`);
  }
  if (o.blurSize !== undefined && o.blurSigma === undefined) {
    throw new TasksrError("E_CLI_ARG", "--blur-size needs --blur-sigma");
  }
  const out: DegradeOptions = {
    method: o.method,
    scale: num("--scale", o.scale, true),
    seed: num("--seed", o.seed, true),
  };
  if (o.blurSigma !== undefined) {
    out.blur = { sigma: num("--blur-sigma", o.blurSigma, false) };
    if (o.blurSize !== undefined) out.blur.size = num("--blur-size", o.blurSize, true);
  }
  if (o.noiseSigma !== undefined) out.noise = { sigma: num("--noise-sigma", o.noiseSigma, false) };
  if (o.jpeg !== undefined) out.jpeg = { quality: num("--jpeg", o.jpeg, true) };
  return out;
}

/** FNV-1a of the relative path mixed with the seed: a per-file noise seed. */
function fileSeed(seed: number, rel: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(rel, "utf8")) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return (h ^ seed) >>> 0;
}

const asPng = (rel: string): string => rel.slice(0, rel.length - extname(rel).length) + ".png";

export function registerDegrade(program: Command): void {
  program
    .command("degrade")
    .description("make LR images: blur -> downscale -> noise -> JPEG, written as PNG")
    .argument("<input>", "HR image, or a folder of images (searched recursively)")
    .argument("<output>", "LR .png file, or a folder (created; file names kept, extension .png)")
    .option(
      "--method <name>",
      "torch-bicubic (SR4IR) or matlab-bicubic (SR benchmarks, after modcrop)",
      "torch-bicubic",
    )
    .requiredOption("--scale <s>", "integer downscaling factor")
    .option("--blur-sigma <x>", "Gaussian blur sigma in HR pixels, applied before downscaling")
    .option("--blur-size <k>", "odd blur kernel size (default 2 * ceil(3 sigma) + 1)")
    .option("--noise-sigma <y>", "additive Gaussian noise sigma on the [0, 255] scale, after downscaling")
    .option("--jpeg <q>", "JPEG quality 1..100, applied last")
    .option("--seed <n>", "noise seed", "0")
    .action(async (input: string, output: string, raw: RawOptions) => {
      const options = toOptions(raw);
      // The engine and the image codec load only when this command runs, and after its arguments are checked.
      const { Degradation } = await import("../../data/degrade/pipeline.js");
      const { readImage, writeImage } = await import("../../data/io/image.js");
      const deg = new Degradation(options, "degrade");
      const info = await stat(input).catch(() => {
        throw new TasksrError("E_CLI_ARG", `input ${input} does not exist`);
      });
      let jobs: { from: string; to: string; rel: string }[];
      if (info.isDirectory()) {
        const files = await listFilesRecursive(input, IMAGE_EXTENSIONS, "input");
        if (files.length === 0) throw new TasksrError("E_CLI_ARG", `input folder ${input} holds no image`);
        jobs = files.map((rel) => ({ from: join(input, rel), to: join(output, asPng(rel)), rel }));
      } else {
        const rel = input.slice(input.lastIndexOf("/") + 1);
        const toDir = !output.toLowerCase().endsWith(".png");
        jobs = [{ from: input, to: toDir ? join(output, asPng(rel)) : output, rel }];
      }
      for (const job of jobs) {
        deg.reseed(fileSeed(deg.config.seed, job.rel));
        const lr = await deg.applyToImage(await readImage(job.from, { channels: "keep" }));
        await mkdir(dirname(job.to), { recursive: true });
        await writeImage(job.to, lr);
      }
      console.log(`degraded ${jobs.length} image(s) with ${deg.config.method} x${deg.config.scale} -> ${output}`);
    });
}
