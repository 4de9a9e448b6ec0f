/**
 * Whether bfloat16 autocast can run on this CPU. ATen sends bfloat16 convolutions to oneDNN when the CPU reports
 * AVX-512 (BW, VL, DQ) and to its own slower kernels otherwise, so on most CPUs it just works. It fails only when
 * oneDNN is held below the CPU's real instruction set (DNNL_MAX_CPU_ISA=AVX2 on an AVX-512 machine): ATen still
 * picks oneDNN, which then has no bfloat16 kernel ("could not create a primitive descriptor iterator"), exactly as
 * in PyTorch. A probe finds out once per process, before a run starts, instead of failing in its first step.
 */
import { autocast } from "./autograd.js";
import { ones } from "./creation.js";
import { conv2d } from "./functional.js";
import { scope } from "./scope.js";

let verdict: string | null | undefined;

/**
 * undefined when a bfloat16-autocast convolution runs forward and backward on the CPU; otherwise why not (the
 * engine's message), with the DNNL_MAX_CPU_ISA setting when one is in force.
 */
export function cpuBf16Problem(): string | undefined {
  if (verdict === undefined) {
    try {
      scope(() => {
        const x = ones([1, 3, 4, 4], { requiresGrad: true }); // [N, C, H, W]
        const w = ones([3, 3, 1, 1], { requiresGrad: true });
        autocast("cpu", "bfloat16", () => conv2d(x, w))
          .float()
          .sum()
          .backward();
      });
      verdict = null;
    } catch (e) {
      const isa = process.env.DNNL_MAX_CPU_ISA;
      verdict = `${(e as Error).message}${isa ? ` (DNNL_MAX_CPU_ISA=${isa})` : ""}`;
    }
  }
  return verdict ?? undefined;
}
