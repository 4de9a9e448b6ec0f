/** Random horizontal flip (torchvision `RandomHorizontalFlip`). */
import { check } from "../../errors.js";
import type { Transform } from "./compose.js";
import { flipSample } from "./geometry.js";

/** Mirrors left-right with probability `p` (one draw per call, whatever the outcome). */
export function hflip(p = 0.5): Transform {
  check(p >= 0 && p <= 1, () => `hflip probability must be in [0, 1], got ${p}`, "E_CONFIG");
  return (s, rng) => (rng.bool(p) ? flipSample(s) : s);
}
