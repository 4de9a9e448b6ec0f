/** Engine-wide state: memory accounting, threads, devices. */
import { TasksrError } from "../errors.js";
import { N } from "./native.js";

export interface MemoryInfo {
  /** Tensor handles created and not yet disposed. */
  liveTensors: number;
  /** Bytes libtorch currently holds on the CPU (every CPU tensor, including autograd's saved tensors). */
  cpuBytes: number;
  /** High-water mark of cpuBytes since start or the last resetPeakMemory(). */
  cpuPeakBytes: number;
  /**
   * Address space the engine mapped for CPU tensors of 256 KiB and up (docs/engine.md, "Memory"); resident only
   * where tensors have touched it.
   */
  cpuPoolMappedBytes: number;
  /** The part of cpuPoolMappedBytes no tensor uses now, kept for the next ones; emptyCache() returns its pages. */
  cpuPoolFreeBytes: number;
}

export function memory(): MemoryInfo {
  const b = N.nativeBytes();
  return {
    liveTensors: N.liveTensors(),
    cpuBytes: b.cpu,
    cpuPeakBytes: b.cpuPeak,
    cpuPoolMappedBytes: b.poolMapped,
    cpuPoolFreeBytes: b.poolFree,
  };
}
export const resetPeakMemory = (): void => N.resetPeakBytes();
/**
 * Returns the pages of the free pool blocks to the system (like torch.cuda.empty_cache for the CPU); returns the
 * free bytes advised, resident or not.
 */
export const emptyCache = (): number => N.emptyCache();

/** Intra-op threads (process-wide). Defaults to the core count, or $TASKSR_THREADS / $OMP_NUM_THREADS. */
export const setNumThreads = (n: number): void => N.setNumThreads(n);
export const getNumThreads = (): number => N.getNumThreads();
/**
 * Threads of OpenBLAS's own pool (1 by default, or $OPENBLAS_NUM_THREADS); sets them when `n` is given. -1 when
 * libtorch uses another BLAS.
 */
export const blasThreads = (n?: number): number => N.blasThreads(n);

export const cudaDeviceCount = (): number => N.cudaDeviceCount();
export const cudaAvailable = (): boolean => N.cudaDeviceCount() > 0;
export const cudaDeviceName = (i = 0): string => N.cudaDeviceName(i);
/** Waits for all queued CUDA work (for timing). No-op without CUDA. */
export const synchronize = (): void => N.cudaSynchronize();
export const cudaMemory = (i = 0): { allocated: number; peak: number; reserved: number } => N.cudaMemory(i);

/** libtorch's own build summary (torch.__config__.show()) plus its parallel settings. */
export const torchConfig = (): string => N.configShow();
/**
 * The instruction set of ATen's own CPU kernels: "AVX512", "AVX2" or "NO AVX" (chosen at load from the CPU, capped by
 * $ATEN_CPU_CAPABILITY). The AVX2 and AVX-512 builds contract `a * b + c` into FMAs, so random draws over a range
 * differ from the NO AVX build's by a few float32 ulps.
 */
export function cpuCapability(): string {
  const m = /CPU capability usage: (.+)/.exec(torchConfig());
  return m ? m[1]!.trim() : "unknown";
}
export const buildInfo = () => N.buildInfo();

/** Resolves "auto" | "cpu" | "cuda" | "cuda:N" to a device string, failing clearly when CUDA is absent. */
export function resolveDevice(device: string | undefined): string {
  if (device === undefined || device === "auto") return cudaAvailable() ? "cuda:0" : "cpu";
  if (device === "cpu") return "cpu";
  const m = /^cuda(?::(\d+))?$/.exec(device);
  if (!m) throw new TasksrError("E_DEVICE", `device must be "cpu", "cuda", "cuda:N" or "auto", got "${device}"`);
  const n = cudaDeviceCount();
  const idx = Number(m[1] ?? 0);
  if (idx >= n) {
    throw new TasksrError(
      "E_DEVICE",
      n === 0
        ? `device "${device}" requested but no CUDA device is available (${N.buildInfo().cudaCompiled ? "no GPU visible" : "the engine was built against a CPU-only libtorch"}); use --device cpu`
        : `device "${device}" requested but only ${n} CUDA device(s) exist`,
    );
  }
  return `cuda:${idx}`;
}
