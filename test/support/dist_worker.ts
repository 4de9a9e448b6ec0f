/**
 * One rank of the collective tests: `node dist_worker.js <scenario>` under the torchrun environment (launchLocal)
 * runs the scenario and prints `RESULT <json>`.
 */

import { distEnvFrom } from "../../src/dist/env.js";
import { ProcessGroup } from "../../src/dist/group.js";
import { noGrad } from "../../src/engine/autograd.js";
import { manualSeed, randn, tensor } from "../../src/engine/creation.js";
import { setNumThreads } from "../../src/engine/index.js";

setNumThreads(1);
const scenario = process.argv[2];
const env = distEnvFrom()!;
const timeoutS = Number(process.env.DIST_TEST_TIMEOUT_S ?? "30");
const g = ProcessGroup.init(env, { timeoutS });
const r = g.rank;
const out: Record<string, unknown> = {};

switch (scenario) {
  case "collectives": {
    const a = tensor([r + 1, 10 * (r + 1)]);
    g.allreduce([a], "sum");
    out.sum = a.toArray();
    const m = tensor([r]);
    g.allreduce([m], "max");
    out.max = m.toArray();
    const b = tensor([r === 0 ? 7 : -1, r === 0 ? 8 : -1]);
    const b2 = tensor([[r === 0 ? 9 : 0]], { dtype: "int64" });
    g.broadcast([b, b2], 0);
    out.broadcast = [...b.toArray(), ...b2.toArray()];
    out.gathered = g.allgather(tensor([r, r * r])).map((t) => t.toArray());
    out.json = g.allgatherJson({ rank: r, text: "x".repeat(5 * (r + 1)) });
    out.fromRoot = g.broadcastJson(r === 0 ? { resume: "auto", n: 3 } : undefined);
    out.meanAndAny = g.meanAndAny({ b: r, a: 10 * r }, [r === 1, false]).wait();
    // d/dx of (rank+1) * sum_r(2 x_r) is 2 * sum_r(rank+1): the backward sums the incoming gradients over ranks.
    const x = tensor([r + 1, 1], { requiresGrad: true });
    const y = g.allreduceSumGrad(x.mul(2));
    out.sumGradForward = y.toArray();
    y.mul(r + 1)
      .sum()
      .backward();
    out.sumGradGrad = x.grad!.toArray();
    g.barrier();
    break;
  }
  case "reducer": {
    // Two "layers" of a model and a global batch of 8 rows; this rank trains on rows [4r, 4r + 4).
    manualSeed(0);
    const w1 = randn([5, 3]).requiresGrad_(true);
    const w2 = randn([2, 5]).requiresGrad_(true);
    const xs = randn([4 * g.world, 3]);
    const local = xs.narrow(0, 4 * r, 4);
    const red = g.reducer([w1, w2], { bucketCapMb: 0.00001 });
    const steps: number[][][] = [];
    for (let it = 0; it < 2; it++) {
      const loss = local.matmul(w1.T).tanh().matmul(w2.T).pow(2).mean();
      red.prepare([loss]);
      loss.backward();
      steps.push([w1.grad!.toArray(), w2.grad!.toArray()]);
      // A plain SGD step on the averaged gradients keeps the ranks' weights equal.
      noGrad(() => {
        w1.sub_(w1.grad!.mul(0.1));
        w2.sub_(w2.grad!.mul(0.1));
      });
      w1.grad!.zero_();
      w2.grad!.zero_();
    }
    out.grads = steps;
    break;
  }
  case "die": {
    if (r === 1) process.exit(3);
    const t0 = performance.now();
    try {
      // The peer is gone: the collective fails (connection closed) or times out.
      for (let i = 0; i < 100; i++) g.allreduce([tensor([1])]);
      out.error = "none";
    } catch (err) {
      out.error = (err as Error).message;
    }
    out.seconds = (performance.now() - t0) / 1000;
    break;
  }
  case "hang": {
    if (r === 1) {
      // Alive but never joins the next collective.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    }
    const t0 = performance.now();
    try {
      g.allreduce([tensor([1])]);
      out.error = "none";
    } catch (err) {
      out.error = (err as Error).message;
    }
    out.seconds = (performance.now() - t0) / 1000;
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
console.log(`RESULT ${JSON.stringify(out)}`);
g.shutdown();
// A rank that saw a collective fail exits with an error, as the trainer does.
process.exit(out.error === undefined ? 0 : 1);
