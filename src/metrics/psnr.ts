/**
 * PSNR under the two named protocols of sr-protocol.ts.
 *
 * Per image: MSE over all compared values (C x H x W for sr4ir, the Y plane for basicsr) in float64, then
 * `PSNR = 10 log10(255^2 / MSE)`. Dataset value:
 * - sr4ir (SR4IR's `calculate_psnr_batch`): mean over the images whose MSE is not 0 (identical images are skipped
 *   and counted in `skipped`);
 * - basicsr (BasicSR's `calculate_psnr`): mean over all images; an identical pair has PSNR +Infinity and so does the
 *   mean, as in the reference.
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

/** Mean squared difference of two plane sets of equal shape. */
function planesMse(a: Planes, b: Planes): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    s += d * d;
  }
  return s / a.data.length;
}

/** PSNR of an 8-bit-range MSE (+Infinity for 0). */
function psnrFromMse(mse: number): number {
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/** PSNR (dB) of one SR/HR pair under `o` (see MetricImage for the accepted inputs). */
export function psnr(sr: MetricImage, hr: MetricImage, o: SrProtocolOptions): number {
  const crop = protocolCrop(o);
  checkPair(sr, hr, crop, 1);
  return psnrFromMse(
    planesMse(comparedPlanes(sr, o.protocol, crop, "SR image"), comparedPlanes(hr, o.protocol, crop, "HR image")),
  );
}

export interface PsnrSummary {
  protocol: SrProtocol;
  /** Dataset PSNR in dB (NaN when no image counted). */
  psnr: number;
  /** Images in the mean. */
  images: number;
  /** sr4ir only: identical pairs (MSE 0) left out of the mean. */
  skipped: number;
}

/** Dataset PSNR accumulator: `update(sr, hr)` per image (returns that image's PSNR), `compute()` the mean. */
export class PsnrMeter implements Accumulator<PsnrSummary> {
  private sum = 0;
  private count = 0;
  private skipped = 0;

  constructor(readonly options: SrProtocolOptions) {
    protocolCrop(options);
  }

  update(sr: MetricImage, hr: MetricImage): number {
    const value = psnr(sr, hr, this.options);
    if (value === Number.POSITIVE_INFINITY && this.options.protocol === "sr4ir") {
      this.skipped++;
    } else {
      this.sum += value;
      this.count++;
    }
    return value;
  }

  compute(): PsnrSummary {
    return {
      protocol: this.options.protocol,
      psnr: this.count === 0 ? Number.NaN : this.sum / this.count,
      images: this.count,
      skipped: this.skipped,
    };
  }

  merge(other: this): void {
    this.mergeState(other.state());
  }

  /** `{settings: {protocol, crop}, sum, count, skipped}`: the sum is +Infinity once a basicsr pair is identical. */
  state(): unknown {
    return { settings: this.settings(), sum: stateNumber(this.sum), count: this.count, skipped: this.skipped };
  }

  mergeState(s: unknown): void {
    const where = "PsnrMeter.mergeState";
    const r = stateFields(s, where, this.settings());
    const sum = numberField(r, "sum", where);
    const count = numberField(r, "count", where, "count");
    const skipped = numberField(r, "skipped", where, "count");
    this.sum += sum;
    this.count += count;
    this.skipped += skipped;
  }

  /** What makes two meters' values comparable: the protocol and its crop (basicsr's scale). */
  private settings(): { protocol: SrProtocol; crop: number } {
    return { protocol: this.options.protocol, crop: protocolCrop(this.options) };
  }

  reset(): void {
    this.sum = 0;
    this.count = 0;
    this.skipped = 0;
  }
}
