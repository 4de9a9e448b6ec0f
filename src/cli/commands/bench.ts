/**
 * `tasksr bench engine`: tasksr vs PyTorch training-step speed and memory in one run (see src/bench/engine.ts).
 * `--worker <config>` is the internal child-process mode that times one side.
 * `tasksr bench data`: images/s of each task's training input pipeline on the synthetic datasets (src/bench/data.ts).
 * `tasksr bench infer`: exported networks on libtorch and onnxruntime-node (src/bench/infer.ts).
 */
import type { Command } from "commander";
import { TasksrError } from "../../errors.js";

const int = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new TasksrError("E_CLI_ARG", `${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};

/** Registers `bench` with its `engine` and `data` subcommands; returns the `bench` group so other benchmarks can join it. */
export function registerBench(program: Command): Command {
  const bench = program.command("bench").description("benchmarks that run tasksr and its reference in the same run");
  bench
    .command("engine")
    .description(
      "train EDSR-baseline x4, ResNet-18, MobileNetV3 (and SwinIR-M x4) steps with tasksr and with PyTorch (when installed); print s/step, ratio, peak RSS",
    )
    .option("--config <names>", "comma-separated: edsr,resnet18,mobilenetv3,swinir", "edsr,resnet18,mobilenetv3")
    .option("--steps <n>", "timed steps per process", "8")
    .option("--warmup <n>", "untimed steps per process", "2")
    .option("--rounds <n>", "alternating rounds (one tasksr and one PyTorch process each)", "3")
    .option("--device <d>", "cpu or cuda", "cpu")
    .option("--no-torch", "skip the PyTorch side")
    .option("--json", "print one JSON object")
    .option("--worker <config>", "internal: time one config in this process and print JSON")
    .action(async (o) => {
      const { BENCH_CONFIGS, benchWorker, runEngineBench } = await import("../../bench/engine.js");
      const steps = int("--steps", o.steps, 1);
      const warmup = int("--warmup", o.warmup, 0);
      if (o.worker) {
        if (!(BENCH_CONFIGS as readonly string[]).includes(o.worker)) {
          throw new TasksrError("E_CLI_ARG", `--worker must be one of ${BENCH_CONFIGS.join(", ")}`);
        }
        console.log(JSON.stringify(benchWorker(o.worker, steps, warmup, o.device)));
        return;
      }
      const configs = String(o.config).split(",");
      for (const c of configs) {
        if (!(BENCH_CONFIGS as readonly string[]).includes(c)) {
          throw new TasksrError("E_CLI_ARG", `--config: unknown "${c}"; known: ${BENCH_CONFIGS.join(", ")}`);
        }
      }
      const res = runEngineBench({
        configs: configs as (typeof BENCH_CONFIGS)[number][],
        steps,
        warmup,
        rounds: int("--rounds", o.rounds, 1),
        device: o.device,
        noTorch: o.torch === false,
        onRound: o.json ? undefined : (m) => console.error(m),
      });
      if (o.json) {
        console.log(JSON.stringify({ threads: res.threads, python: res.python ?? null, configs: res.rows }));
        return;
      }
      const f = (v: number | null, d: number) => (v === null ? "-" : v.toFixed(d));
      console.log(`threads ${res.threads}; PyTorch: ${res.python ?? "not installed (tasksr side only)"}`);
      console.log("| config | tasksr s/step | PyTorch s/step | ratio | tasksr peak RSS MB | PyTorch peak RSS MB |");
      console.log("|---|---|---|---|---|---|");
      for (const r of res.rows) {
        console.log(
          `| ${r.name} | ${f(r.ours_s, 4)} | ${f(r.torch_s, 4)} | ${f(r.ratio, 3)} | ${f(r.ours_rss_mb, 0)} | ${f(r.torch_rss_mb, 0)} |`,
        );
      }
    });
  bench
    .command("dispatch")
    .description(
      "per-op cost of small ops (add, mul, relu, view, narrow, index, 1x1 conv, cat): tasksr vs PyTorch eager, one thread",
    )
    .option("--rounds <n>", "alternating rounds (one tasksr and one PyTorch process each)", "3")
    .option("--iters <n>", "ops per timed loop", "20000")
    .option("--repeats <n>", "timed loops per op and process (plus one warm-up)", "5")
    .option("--no-torch", "skip the PyTorch side")
    .option("--json", "print one JSON object")
    .option("--worker", "internal: time every op in this process and print JSON")
    .action(async (o) => {
      const { dispatchWorker, runDispatchBench } = await import("../../bench/dispatch.js");
      const iters = int("--iters", o.iters, 1);
      const repeats = int("--repeats", o.repeats, 1);
      if (o.worker) {
        console.log(JSON.stringify(dispatchWorker(iters, repeats)));
        return;
      }
      const res = runDispatchBench({
        rounds: int("--rounds", o.rounds, 1),
        iters,
        repeats,
        noTorch: o.torch === false,
        onRound: o.json ? undefined : (m) => console.error(m),
      });
      if (o.json) {
        console.log(JSON.stringify({ python: res.python ?? null, geomean: res.geomean, ops: res.ops }));
        return;
      }
      const f = (v: number | null, d: number) => (v === null ? "-" : v.toFixed(d));
      console.log(`PyTorch: ${res.python ?? "not installed (tasksr side only)"}; one thread`);
      console.log("| op | tasksr µs | PyTorch µs | ratio |");
      console.log("|---|---|---|---|");
      for (const r of res.ops)
        console.log(`| ${r.name} | ${f(r.ours_us, 2)} | ${f(r.torch_us, 2)} | ${f(r.ratio, 2)} |`);
      console.log(`geometric mean of the ratios: ${f(res.geomean, 3)}`);
    });
  bench
    .command("data")
    .description(
      "images/s of each task's training input pipeline (decode, train transforms, collate, worker threads) against PyTorch's DataLoader with the same ops and workers",
    )
    .option(
      "--config <names>",
      `comma-separated: ${"classification,segmentation,detection (640x480 JPEGs), synthetic-<task> (small synthetic sets, tasksr only)"}`,
      "classification,segmentation,detection",
    )
    .option("--images <n>", "images per generated tree (one timed epoch)", "128")
    .option("--batch <n>", "batch size", "8")
    .option("--prefetch <n>", "batches loaded ahead (per worker with workers)", "2")
    .option("--workers <list>", "comma-separated worker-thread counts (PyTorch: num_workers)", "0,1,2")
    .option("--step-ms <ms>", "stand-in step of the overlap measurement, per batch (0: no overlap run)", "133")
    .option("--overlap-workers <n>", "worker threads of the overlap run (default: cores - 1, at least 1)")
    .option("--rounds <n>", "timed epochs per measurement and side, alternating; the fastest is reported", "3")
    .option("--no-torch", "skip the PyTorch side")
    .option("--cache <dir>", "folder for the generated datasets (reused across runs)")
    .option("--json", "print one JSON object")
    .action(async (o) => {
      const { DATA_BENCH_CONFIGS, runDataBench } = await import("../../bench/data.js");
      const configs = String(o.config).split(",");
      for (const c of configs) {
        if (!(DATA_BENCH_CONFIGS as readonly string[]).includes(c)) {
          throw new TasksrError("E_CLI_ARG", `--config: unknown "${c}"; known: ${DATA_BENCH_CONFIGS.join(", ")}`);
        }
      }
      const workers = String(o.workers)
        .split(",")
        .map((w) => int("--workers", w, 0));
      const { availableParallelism, tmpdir } = await import("node:os");
      const { join } = await import("node:path");
      const stepMs = int("--step-ms", o.stepMs, 0);
      const res = await runDataBench({
        configs: configs as (typeof DATA_BENCH_CONFIGS)[number][],
        cacheDir: o.cache ?? join(tmpdir(), "tasksr-bench-data"),
        images: int("--images", o.images, 1),
        batchSize: int("--batch", o.batch, 1),
        prefetch: int("--prefetch", o.prefetch, 0),
        workers,
        torch: o.torch !== false,
        stepMs: stepMs > 0 ? stepMs : undefined,
        overlapWorkers:
          o.overlapWorkers === undefined
            ? Math.max(1, availableParallelism() - 1)
            : int("--overlap-workers", o.overlapWorkers, 1),
        rounds: int("--rounds", o.rounds, 1),
        onRow: o.json
          ? undefined
          : (r) => console.error(`${r.name}, ${r.workers} worker(s): ${r.images_per_s.toFixed(1)} img/s`),
      });
      if (o.json) {
        const { torch: _, ...out } = res;
        console.log(JSON.stringify(out));
        return;
      }
      const f = (v: number | null, d: number) => (v === null ? "-" : v.toFixed(d));
      console.log(`PyTorch: ${res.torch ?? "not run (tasksr side only)"}`);
      console.log("| pipeline | workers | tasksr images/s | PyTorch images/s | ratio |");
      console.log("|---|---|---|---|---|");
      for (const r of res.configs) {
        console.log(
          `| ${r.name} | ${r.workers} | ${r.images_per_s.toFixed(1)} | ${f(r.torch_images_per_s, 1)} | ${f(r.ratio, 2)} |`,
        );
      }
      const v = res.overlap;
      if (v) {
        console.log(
          `overlap (segmentation, ${v.workers} worker(s), step ${v.step_ms} ms/batch): ${v.images_per_s.toFixed(1)} images/s; ` +
            `loader alone ${v.loader_images_per_s.toFixed(1)}, step alone ${v.step_images_per_s.toFixed(1)}, ` +
            `ideal ${v.ideal_images_per_s.toFixed(1)} (${((100 * v.images_per_s) / v.ideal_images_per_s).toFixed(0)} %)` +
            (v.torch_images_per_s === null
              ? ""
              : `; PyTorch beside the same step ${v.torch_images_per_s.toFixed(1)} (alone ${f(v.torch_loader_images_per_s, 1)})`),
        );
      }
    });
  bench
    .command("ddp")
    .description(
      "data-parallel scaling: tasksr train with 1 and 2 processes and PyTorch DDP (gloo) on the same model; efficiency and 2 x B vs 1 x 2B weights",
    )
    .option("--batch <n>", "images per process per step", "8")
    .option("--steps <n>", "timed steps per run", "30")
    .option("--warmup <n>", "untimed steps per run", "5")
    .option("--rounds <n>", "alternating rounds (tasksr and PyTorch, 1 and 2 processes each)", "2")
    .option("--no-torch", "skip the PyTorch side")
    .option("--json", "print one JSON object")
    .action(async (o) => {
      const { runDdpBench } = await import("../../bench/ddp.js");
      const r = runDdpBench({
        batch: int("--batch", o.batch, 1),
        steps: int("--steps", o.steps, 2),
        warmup: int("--warmup", o.warmup, 1),
        rounds: int("--rounds", o.rounds, 1),
        noTorch: o.torch === false,
        onRound: o.json ? undefined : (m) => console.error(m),
      });
      if (o.json) {
        console.log(JSON.stringify(r));
        return;
      }
      const f = (v: number | null | undefined, d: number) => (v == null ? "-" : v.toFixed(d));
      console.log(
        `batch ${r.batch_per_process} per process, ${r.steps} steps, 1 thread per process; PyTorch ${r.torch ?? "not installed"}`,
      );
      console.log("| side | 1 process img/s | 2 processes img/s | efficiency |");
      console.log("|---|---|---|---|");
      console.log(
        `| tasksr | ${f(r.ours_images_per_s[1], 1)} | ${f(r.ours_images_per_s[2], 1)} | ${f(r.ours_efficiency, 3)} |`,
      );
      console.log(
        `| PyTorch | ${f(r.torch_images_per_s?.[1], 1)} | ${f(r.torch_images_per_s?.[2], 1)} | ${f(r.torch_efficiency, 3)} |`,
      );
      console.log(`efficiency ratio (tasksr / PyTorch): ${f(r.efficiency_ratio, 3)}`);
      console.log(
        `2 processes x batch ${r.batch_per_process} vs 1 x ${2 * r.batch_per_process}: relative weight difference ${r.max_rel_weight_diff.toExponential(2)}`,
      );
    });
  bench
    .command("infer")
    .description("eval forward ms of exported networks on libtorch and on onnxruntime-node, same process and input")
    .option(
      "--config <names>",
      "comma-separated: edsr-baseline-x4, edsr-tiny-x4, dbpn-tiny-x4, swinir-m-x4, resnet18, deeplabv3-mobilenetv3-large",
      "edsr-baseline-x4,edsr-tiny-x4,dbpn-tiny-x4,resnet18,deeplabv3-mobilenetv3-large",
    )
    .option("--runs <n>", "timed runs per side and round", "5")
    .option("--rounds <n>", "alternating rounds", "3")
    .option("--json", "print one JSON object")
    .action(async (o) => {
      const { INFER_CONFIGS, runInferBench } = await import("../../bench/infer.js");
      const configs = String(o.config).split(",");
      for (const c of configs) {
        if (!(c in INFER_CONFIGS)) {
          throw new TasksrError(
            "E_CLI_ARG",
            `--config: unknown "${c}"; known: ${Object.keys(INFER_CONFIGS).join(", ")}`,
          );
        }
      }
      const r = await runInferBench({
        configs,
        runs: int("--runs", o.runs, 1),
        rounds: int("--rounds", o.rounds, 1),
        onRow: o.json ? undefined : (row) => console.error(`${row.name}: done`),
      });
      if (o.json) {
        console.log(JSON.stringify(r));
        return;
      }
      console.log(`threads ${r.threads}; onnxruntime-node ${r.onnxruntime}`);
      console.log("| network | input | libtorch ms | onnxruntime ms | ratio (ort / libtorch) | max abs diff |");
      console.log("|---|---|---|---|---|---|");
      for (const row of r.rows) {
        console.log(
          `| ${row.name} | ${row.input.join("x")} | ${row.libtorch_ms.toFixed(1)} | ${row.onnxruntime_ms.toFixed(1)} | ${row.ratio.toFixed(2)} | ${row.max_abs_diff.toExponential(1)} |`,
        );
      }
    });
  return bench;
}
