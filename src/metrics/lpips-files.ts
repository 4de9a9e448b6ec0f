/**
 * `tasksr metrics lpips`: LPIPS of SR images against HR images (pairs and size rule as `tasksr metrics psnr`, RGB),
 * with the user's weight files. Dataset value: the mean over images.
 */

import { imagesToTensor } from "../data/degrade/image_tensor.js";
import { noGrad } from "../engine/autograd.js";
import { scope } from "../engine/scope.js";
import { type LpipsNet, loadLpips } from "./lpips.js";
import { pairImages, readPair } from "./sr-files.js";

export interface LpipsFilesReport {
  net: LpipsNet;
  images: { name: string; lpips: number; hrCropped: boolean }[];
  lpips: number;
}

export async function evaluateLpipsFiles(
  srPath: string,
  hrPath: string,
  o: { net: LpipsNet; backbone: string; lin: string; scale?: number },
): Promise<LpipsFilesReport> {
  const files = { backbone: ["--backbone", o.backbone], lin: ["--lin", o.lin] } as const;
  const net = loadLpips(o.net, files, "E_CLI_ARG");
  try {
    const pairs = pairImages(srPath, hrPath);
    const images: LpipsFilesReport["images"] = [];
    for (const [name, srFile, hrFile] of pairs) {
      const { sr, hr, hrCropped } = await readPair(srFile, hrFile, { protocol: "sr4ir", scale: o.scale });
      const d = scope(() => noGrad(() => net.call(imagesToTensor([sr]), imagesToTensor([hr])).item()));
      images.push({ name, lpips: d, hrCropped });
    }
    return { net: o.net, images, lpips: images.reduce((s, r) => s + r.lpips, 0) / images.length };
  } finally {
    net.dispose();
  }
}
