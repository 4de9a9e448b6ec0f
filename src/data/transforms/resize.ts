/** Resize transforms (torchvision `Resize` semantics on PIL images: images bilinear + antialias, masks nearest). */
import { check } from "../../errors.js";
import type { Transform } from "./compose.js";
import { resizeSample } from "./geometry.js";

/** Output size for a short-side resize: the short side becomes `size`, the long side floor(size * long / short). */
export function shortSideSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.floor((size * height) / width) };
  return { width: Math.floor((size * width) / height), height: size };
}

/**
 * `resize(256)` scales the shorter side to 256 keeping the aspect ratio (torchvision `Resize(256)`);
 * `resize({ width, height })` resizes to exactly that size (torchvision `Resize((h, w))`).
 */
export function resize(size: number | { width: number; height: number }): Transform {
  if (typeof size === "number") {
    check(Number.isInteger(size) && size > 0, () => `resize size must be a positive integer, got ${size}`, "E_CONFIG");
    return (s) => {
      const o = shortSideSize(s.image.width, s.image.height, size);
      return resizeSample(s, o.width, o.height);
    };
  }
  return (s) => resizeSample(s, size.width, size.height);
}
