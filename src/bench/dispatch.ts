/**
 * Dispatch benchmark: the per-op cost of small ops, where the kernel takes less time than getting to it (JS → N-API
 * → ATen dispatch → result handle → free), timed with tasksr and with PyTorch eager in alternating child processes
 * of one run, one thread each. Each op is run `iters` times in a loop per repeat; the time per op is the median over
 * repeats. Ours frees each result at once (`dispose`), as Python's reference counting does.
 *
 * Ops (tools/bench/dispatch_torch.py has the same list):
 *   add        a + b, 1 element each
 *   mul        a · 2, 64 elements
 *   relu       relu(a), 64 elements
 *   view       a.view(8, 8) of 64 elements
 *   narrow     a[4:36] of 64 elements (a view)
 *   index      a[idx] with an int64 index of 8 into 64 elements (a gather)
 *   conv1x1    1×1 conv of [1, 16, 8, 8] to 16 channels with bias
 *   cat        cat([a, b]) of two 64-element tensors
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { noGrad } from "../engine/autograd.js";
import { cat, rand, randint } from "../engine/creation.js";
import * as F from "../engine/functional.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { findTorchPython, median, runJsonChild } from "./child.js";

export const DISPATCH_OPS = ["add", "mul", "relu", "view", "narrow", "index", "conv1x1", "cat"] as const;
export type DispatchOp = (typeof DISPATCH_OPS)[number];

/** µs per op for every op, measured in this process (a fresh child of runDispatchBench). */
export function dispatchWorker(iters: number, repeats: number): Record<DispatchOp, number> {
  const out = {} as Record<DispatchOp, number>;
  noGrad(() =>
    scope(() => {
      const one = [rand([1]), rand([1])] as const;
      const a = rand([64]);
      const b = rand([64]);
      const idx = randint(0, 64, [8], { dtype: "int64" });
      const x = rand([1, 16, 8, 8]);
      const w = rand([16, 16, 1, 1]);
      const bias = rand([16]);
      const fns: Record<DispatchOp, () => Tensor> = {
        add: () => one[0].add(one[1]),
        mul: () => a.mul(2),
        relu: () => F.relu(a),
        view: () => a.view(8, 8),
        narrow: () => a.narrow(0, 4, 32),
        index: () => a.indexSelect(0, idx),
        conv1x1: () => F.conv2d(x, w, bias),
        cat: () => cat([a, b]),
      };
      for (const name of DISPATCH_OPS) {
        const fn = fns[name];
        const times: number[] = [];
        for (let r = 0; r < repeats + 1; r++) {
          const t0 = process.hrtime.bigint();
          for (let i = 0; i < iters; i++) fn().dispose();
          const us = Number(process.hrtime.bigint() - t0) / 1000 / iters;
          if (r > 0) times.push(us); // the first repeat warms up (JIT, allocator)
        }
        out[name] = median(times);
      }
    }),
  );
  return out;
}

export interface DispatchRow {
  name: DispatchOp;
  ours_us: number;
  torch_us: number | null;
  ratio: number | null;
}

/**
 * Alternates a tasksr worker and a PyTorch one per round (one thread each); per op, medians over rounds, and the ratio
 * is the median of per-round ratios. `geomean` is the geometric mean of the ops' ratios.
 */
export function runDispatchBench(o: {
  rounds: number;
  iters: number;
  repeats: number;
  noTorch?: boolean;
  onRound?: (msg: string) => void;
}): { ops: DispatchRow[]; geomean: number | null; python?: string } {
  const python = o.noTorch ? undefined : findTorchPython();
  const launcher = fileURLToPath(new URL("../../../bin/tasksr.js", import.meta.url));
  const script = fileURLToPath(new URL("../../../tools/bench/dispatch_torch.py", import.meta.url));
  const ours: Record<DispatchOp, number>[] = [];
  const torch: Record<DispatchOp, number>[] = [];
  const n = [String(o.iters), String(o.repeats)];
  const flags = ["--iters", n[0]!, "--repeats", n[1]!];
  for (let r = 0; r < o.rounds; r++) {
    ours.push(
      runJsonChild<Record<DispatchOp, number>>(
        process.execPath,
        [launcher, "bench", "dispatch", "--worker", ...flags],
        1,
      ),
    );
    if (python && existsSync(script)) {
      torch.push(runJsonChild<{ ops: Record<DispatchOp, number> }>(python, [script, ...n], 1).ops);
    }
    o.onRound?.(`round ${r + 1}/${o.rounds} done`);
  }
  const ops = DISPATCH_OPS.map((name): DispatchRow => {
    const ratios = torch.map((t, i) => ours[i]![name] / t[name]);
    return {
      name,
      ours_us: median(ours.map((x) => x[name])),
      torch_us: torch.length ? median(torch.map((x) => x[name])) : null,
      ratio: ratios.length ? median(ratios) : null,
    };
  });
  const ratios = ops.map((r) => r.ratio).filter((r): r is number => r !== null);
  const geomean = ratios.length ? Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length) : null;
  return { ops, geomean, ...(python ? { python } : {}) };
}
