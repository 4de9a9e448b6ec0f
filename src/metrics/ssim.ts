/**
 * SSIM with BasicSR's conventions (`calculate_ssim` / `_ssim`, after Wang et al. 2004): 11x11 Gaussian window with
 * sigma 1.5 (the taps of cv2.getGaussianKernel(11, 1.5)), C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, "valid"
 * filtering (no padding: the map is (H - 10) x (W - 10)), SSIM = mean of the map, averaged over the compared planes.
 * The planes and the crop are those of the protocol (sr-protocol.ts): the Y plane for basicsr, every RGB channel for
 * sr4ir. Dataset value: the mean over images.
 */
import { type Accumulator, numberField, stateFields, stateNumber } from "./accumulator.js";
import {
  checkPair,
  comparedPlanes,
  type MetricImage,
  type Planes,
  protocolCrop,
  type SrProtocol,
  type SrProtocolOptions,
} from "./sr-protocol.js";

const WINDOW = 11;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

/** Normalised 1-D Gaussian taps, computed as OpenCV's getGaussianKernel does for sigma > 0. */
function gaussianTaps(n: number, sigma: number): Float64Array {
  const taps = new Float64Array(n);
  const scale = -0.5 / (sigma * sigma);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = i - (n - 1) * 0.5;
    taps[i] = Math.exp(scale * x * x);
    sum += taps[i]!;
  }
  for (let i = 0; i < n; i++) taps[i]! /= sum;
  return taps;
}

const TAPS = gaussianTaps(WINDOW, 1.5);

/** SSIM of one plane pair: a, b are [h, w] row-major at `offset` in their arrays. */
function planeSsim(a: Float64Array, b: Float64Array, offset: number, h: number, w: number): number {
  const ow = w - WINDOW + 1;
  const oh = h - WINDOW + 1;
  // Horizontal pass of the five moments (a, b, a², b², ab): [5][h, ow].
  const horiz = new Float64Array(5 * h * ow);
  const plane = h * ow;
  for (let y = 0; y < h; y++) {
    const row = offset + y * w;
    for (let x = 0; x < ow; x++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let k = 0; k < WINDOW; k++) {
        const t = TAPS[k]!;
        const va = a[row + x + k]!;
        const vb = b[row + x + k]!;
        sa += t * va;
        sb += t * vb;
        saa += t * va * va;
        sbb += t * vb * vb;
        sab += t * va * vb;
      }
      const o = y * ow + x;
      horiz[o] = sa;
      horiz[plane + o] = sb;
      horiz[2 * plane + o] = saa;
      horiz[3 * plane + o] = sbb;
      horiz[4 * plane + o] = sab;
    }
  }
  // Vertical pass, then the SSIM map summed on the fly.
  let total = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let mu1 = 0;
      let mu2 = 0;
      let e11 = 0;
      let e22 = 0;
      let e12 = 0;
      for (let k = 0; k < WINDOW; k++) {
        const t = TAPS[k]!;
        const o = (y + k) * ow + x;
        mu1 += t * horiz[o]!;
        mu2 += t * horiz[plane + o]!;
        e11 += t * horiz[2 * plane + o]!;
        e22 += t * horiz[3 * plane + o]!;
        e12 += t * horiz[4 * plane + o]!;
      }
      const mu1mu2 = mu1 * mu2;
      const mu1sq = mu1 * mu1;
      const mu2sq = mu2 * mu2;
      total +=
        ((2 * mu1mu2 + C1) * (2 * (e12 - mu1mu2) + C2)) / ((mu1sq + mu2sq + C1) * (e11 - mu1sq + (e22 - mu2sq) + C2));
    }
  }
  return total / (oh * ow);
}

/** Mean SSIM over the planes of two plane sets of equal shape. */
function planesSsim(a: Planes, b: Planes): number {
  const n = a.height * a.width;
  let s = 0;
  for (let p = 0; p < a.planes; p++) s += planeSsim(a.data, b.data, p * n, a.height, a.width);
  return s / a.planes;
}

/** SSIM of one SR/HR pair under `o`; the cropped image must be at least 11 x 11. */
export function ssim(sr: MetricImage, hr: MetricImage, o: SrProtocolOptions): number {
  const crop = protocolCrop(o);
  checkPair(sr, hr, crop, WINDOW);
  return planesSsim(comparedPlanes(sr, o.protocol, crop, "SR image"), comparedPlanes(hr, o.protocol, crop, "HR image"));
}

export interface SsimSummary {
  protocol: SrProtocol;
  /** Mean SSIM over images (NaN when none). */
  ssim: number;
  images: number;
}

/** Dataset SSIM accumulator: `update(sr, hr)` per image (returns that image's SSIM), `compute()` the mean. */
export class SsimMeter implements Accumulator<SsimSummary> {
  private sum = 0;
  private count = 0;

  constructor(readonly options: SrProtocolOptions) {
    protocolCrop(options);
  }

  update(sr: MetricImage, hr: MetricImage): number {
    const value = ssim(sr, hr, this.options);
    this.sum += value;
    this.count++;
    return value;
  }

  compute(): SsimSummary {
    return {
      protocol: this.options.protocol,
      ssim: this.count === 0 ? Number.NaN : this.sum / this.count,
      images: this.count,
    };
  }

  merge(other: this): void {
    this.mergeState(other.state());
  }

  /** `{settings: {protocol, crop}, sum, count}`. */
  state(): unknown {
    return { settings: this.settings(), sum: stateNumber(this.sum), count: this.count };
  }

  mergeState(s: unknown): void {
    const where = "SsimMeter.mergeState";
    const r = stateFields(s, where, this.settings());
    const sum = numberField(r, "sum", where);
    const count = numberField(r, "count", where, "count");
    this.sum += sum;
    this.count += count;
  }

  /** What makes two meters' values comparable: the protocol and its crop (basicsr's scale). */
  private settings(): { protocol: SrProtocol; crop: number } {
    return { protocol: this.options.protocol, crop: protocolCrop(this.options) };
  }

  reset(): void {
    this.sum = 0;
    this.count = 0;
  }
}
