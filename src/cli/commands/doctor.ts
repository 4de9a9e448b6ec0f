/**
 * `tasksr doctor`: reports the engine's environment (libtorch, CUDA, threads, allocator, BLAS, data) and exits 1
 * with an actionable line for every missing piece.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Command } from "commander";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** Warnings do not fail the command. */
  optional?: boolean;
}

const mapped = (): string => {
  try {
    return readFileSync("/proc/self/maps", "utf8");
  } catch {
    return "";
  }
};

export async function runDoctor(): Promise<{ checks: Check[]; ok: boolean }> {
  const checks: Check[] = [];
  const record = new URL("../../../../build/libtorch.json", import.meta.url);
  const lt = existsSync(record) ? (JSON.parse(readFileSync(record, "utf8")) as Record<string, unknown>) : undefined;

  let engine: typeof import("../../engine/system.js") | undefined;
  try {
    engine = await import("../../engine/system.js");
    checks.push({
      name: "native engine",
      ok: true,
      detail: `libtorch ${String(lt?.version ?? "?")} from ${String(lt?.source ?? "?")} (${String(lt?.libDir ?? "?")})`,
    });
  } catch (err) {
    checks.push({
      name: "native engine",
      ok: false,
      detail: (err as Error).message,
      fix: "sudo apt-get install libtorch-dev (or set LIBTORCH), then `npm run setup` in the tasksr folder",
    });
  }

  try {
    (await import("../../data/pixels.js")).pixels();
    checks.push({
      name: "pixel kernels",
      ok: true,
      detail: "libjpeg-turbo decoding, index-PNG decoding, PIL-exact resampling (tasksr_image.node)",
    });
  } catch (err) {
    checks.push({
      name: "pixel kernels",
      ok: false,
      detail: (err as Error).message,
      fix: "sudo apt-get install libturbojpeg0-dev zlib1g-dev, then `npm run setup` in the tasksr folder",
    });
  }

  if (engine) {
    const n = engine.cudaDeviceCount();
    const names = Array.from({ length: n }, (_, i) => engine!.cudaDeviceName(i));
    const built = engine.buildInfo().cudaCompiled;
    checks.push({
      name: "CUDA",
      ok: n > 0,
      optional: true,
      detail:
        n > 0
          ? `${n} device(s): ${names.join(", ")}`
          : built
            ? "built with CUDA, but no GPU visible"
            : "CPU-only libtorch",
      fix: built
        ? "check the NVIDIA driver (nvidia-smi)"
        : "for GPUs, build against a CUDA libtorch: LIBTORCH=... or a pip torch with CUDA",
    });
    const { N } = await import("../../engine/native.js");
    const dist = N.distAvailable();
    checks.push({
      name: "distributed",
      ok: dist,
      optional: true,
      detail: dist
        ? "c10d with Gloo (tasksr train --nproc-per-node, torchrun; docs/distributed.md)"
        : "built without c10d/Gloo: one process only",
      fix: "sudo apt-get install libgloo-dev, then node scripts/build-native.mjs --force",
    });
    checks.push({
      name: "threads",
      ok: true,
      detail: `${engine.getNumThreads()} intra-op threads (${availableParallelism()} cores; --threads or TASKSR_THREADS overrides)`,
    });
    const isa = process.env.DNNL_MAX_CPU_ISA;
    const bf16 = (await import("../../engine/bf16.js")).cpuBf16Problem();
    checks.push({
      name: "CPU kernels",
      ok: true,
      detail: `ATen ${engine.cpuCapability()}${isa ? `, oneDNN capped at ${isa} (DNNL_MAX_CPU_ISA)` : ""}; bf16 autocast ${bf16 ? `unavailable: ${bf16}` : "available"}`,
    });
  }

  const maps = mapped();
  const tcmalloc = /libtcmalloc/.test(maps);
  checks.push({
    name: "allocator",
    ok: tcmalloc,
    detail: tcmalloc
      ? "tcmalloc (preloaded) for blocks under 256 KiB, tasksr's own pool for larger ones"
      : "glibc malloc for blocks under 256 KiB (tasksr's pool serves larger ones); tasksr is measured with tcmalloc",
    fix: existsSync("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")
      ? "run through the `tasksr` launcher (it preloads tcmalloc), or LD_PRELOAD=libtcmalloc_minimal.so.4"
      : "sudo apt-get install libtcmalloc-minimal4",
  });
  const blasLine = maps.split("\n").find((l) => /lib(open)?blas/.test(l));
  const blasPath = blasLine?.split(/\s+/).pop();
  const openblas = blasPath !== undefined && /openblas/.test(blasPath);
  checks.push({
    name: "BLAS",
    ok: engine === undefined || openblas,
    detail: blasPath
      ? `${blasPath}${openblas ? blasThreadsNote(engine) : " (reference BLAS: matmul/Linear ~14x slower)"}`
      : "not loaded",
    fix: "sudo apt-get install libopenblas0-pthread",
  });
  const fmnist = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  checks.push({
    name: "Fashion-MNIST",
    ok: existsSync(fmnist),
    optional: true,
    detail: existsSync(fmnist)
      ? "/usr/share/datasets/fashion-mnist"
      : "not installed (only needed for the real-data results)",
    fix: "sudo apt-get install dataset-fashion-mnist",
  });
  return { checks, ok: checks.every((c) => c.ok || c.optional) };
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check libtorch, CUDA, threads, allocator and BLAS; exits 1 if something required is missing")
    .option("--json", "print one JSON object")
    .action(async (o: { json?: boolean }) => {
      const { checks, ok } = await runDoctor();
      if (o.json) {
        console.log(JSON.stringify({ ok, checks }, null, 2));
      } else {
        for (const c of checks) {
          const mark = c.ok ? "ok  " : c.optional ? "warn" : "FAIL";
          console.log(`[${mark}] ${c.name.padEnd(14)} ${c.detail}`);
          if (!c.ok && c.fix) console.log(`       fix: ${c.fix}`);
        }
        console.log(
          ok ? "tasksr doctor: all required pieces present" : "tasksr doctor: something required is missing (see FAIL)",
        );
      }
      if (!ok) process.exitCode = 1;
    });
}

const blasThreadsNote = (engine: typeof import("../../engine/system.js") | undefined): string => {
  const n = engine?.blasThreads() ?? -1;
  return n > 0 ? `, ${n} thread${n === 1 ? "" : "s"} (OPENBLAS_NUM_THREADS overrides)` : "";
};
