/** 8-bit HWC images <-> engine tensors [N, C, H, W] float32 in [0, 1] (value / 255). */

import { scope, type Tensor, tensor } from "../../engine/index.js";
import { check } from "../../errors.js";
import type { Image } from "../io/image.js";

/** Stacks same-size images into [N, C, H, W] float32 on `device` (default cpu). The caller owns the result. */
export function imagesToTensor(images: readonly Image[], device?: string): Tensor {
  check(images.length > 0, () => "imagesToTensor: needs at least one image");
  const { width: W, height: H, channels: C } = images[0]!;
  const bytes = new Uint8Array(images.length * H * W * C);
  for (const [i, im] of images.entries()) {
    check(
      im.width === W && im.height === H && im.channels === C,
      () => `imagesToTensor: image ${i} is ${im.width}x${im.height}x${im.channels}, image 0 is ${W}x${H}x${C}`,
    );
    bytes.set(im.data, i * H * W * C);
  }
  return scope(() => {
    const hwc = tensor(bytes, { shape: [images.length, H, W, C] }); // [N, H, W, C] uint8
    const nchw = hwc.permute(0, 3, 1, 2).to({ dtype: "float32", ...(device ? { device } : {}) });
    return nchw.div(255); // [N, C, H, W]
  });
}

/** [N, C, H, W] in [0, 1] -> N images, each value rounded (half to even) to 8 bits and clamped. */
export function tensorToImages(x: Tensor): Image[] {
  check(
    x.ndim === 4 && (x.shape[1] === 1 || x.shape[1] === 3),
    () => `tensorToImages: expected [N, 1|3, H, W], got [${x.shape}]`,
  );
  const [n, c, h, w] = x.shape as [number, 1 | 3, number, number];
  const bytes = scope(() =>
    x
      .mul(255)
      .round()
      .clamp(0, 255)
      .to({ dtype: "uint8", device: "cpu" })
      .permute(0, 2, 3, 1)
      .contiguous()
      .data<"uint8">(),
  );
  const size = h * w * c;
  return Array.from({ length: n }, (_, i) => ({
    data: bytes.slice(i * size, (i + 1) * size),
    width: w,
    height: h,
    channels: c,
  }));
}
