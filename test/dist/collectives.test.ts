/**
 * c10d from the addon, two local processes over Gloo: the collectives, the Reducer's averaged gradients (against the
 * same model on the union of the batches in this process) and a dead or hung peer ending in E_DIST within the timeout.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { findTorchPython } from "../../src/bench/child.js";
import { freePort } from "../../src/dist/launch.js";
import { noGrad } from "../../src/engine/autograd.js";
import { manualSeed, randn } from "../../src/engine/creation.js";
import { setNumThreads } from "../../src/engine/index.js";
import { noDist, resultOf, runRanks } from "../support/dist.js";

test(
  "all-reduce, broadcast, all-gather, JSON exchange, meanAndAny() and the differentiable sum",
  { skip: noDist },
  async () => {
    const r = await runRanks("dist_worker.js", ["collectives"], 2);
    assert.equal(r.status, 0, r.workers.map((w) => w.stderr).join("\n"));
    for (const rank of [0, 1]) {
      const o = resultOf(r, rank);
      assert.deepEqual(o.sum, [3, 30]);
      assert.deepEqual(o.max, [1]);
      assert.deepEqual(o.broadcast, [7, 8, 9]);
      assert.deepEqual(o.gathered, [
        [0, 0],
        [1, 1],
      ]);
      assert.deepEqual(o.json, [
        { rank: 0, text: "xxxxx" },
        { rank: 1, text: "xxxxxxxxxx" },
      ]);
      assert.deepEqual(o.fromRoot, { resume: "auto", n: 3 });
      assert.deepEqual(o.meanAndAny, { values: { a: 5, b: 0.5 }, flags: [true, false] });
      assert.deepEqual(o.sumGradForward, [6, 4]);
      assert.deepEqual(o.sumGradGrad, [6, 6]);
    }
  },
);

test(
  "the Reducer leaves the mean gradient of the union of the ranks' batches, step after step",
  { skip: noDist },
  async () => {
    const r = await runRanks("dist_worker.js", ["reducer"], 2);
    assert.equal(r.status, 0, r.workers.map((w) => w.stderr).join("\n"));
    // The same model, initialisation and steps in one process on all 8 rows.
    setNumThreads(1);
    manualSeed(0);
    const w1 = randn([5, 3]).requiresGrad_(true);
    const w2 = randn([2, 5]).requiresGrad_(true);
    const xs = randn([8, 3]);
    const want: number[][][] = [];
    for (let it = 0; it < 2; it++) {
      const loss = xs.matmul(w1.T).tanh().matmul(w2.T).pow(2).mean();
      loss.backward();
      want.push([w1.grad!.toArray(), w2.grad!.toArray()]);
      noGrad(() => {
        w1.sub_(w1.grad!.mul(0.1));
        w2.sub_(w2.grad!.mul(0.1));
      });
      w1.grad!.zero_();
      w2.grad!.zero_();
    }
    for (const rank of [0, 1]) {
      const got = resultOf<{ grads: number[][][] }>(r, rank).grads;
      // float32 sums in another order: a few ulps.
      for (let it = 0; it < 2; it++) {
        for (let k = 0; k < 2; k++) {
          got[it]![k]!.forEach((v, i) => {
            const w = want[it]![k]![i]!;
            assert.ok(Math.abs(v - w) <= 1e-6 * (1 + Math.abs(w)), `step ${it} tensor ${k}[${i}]: ${v} vs ${w}`);
          });
        }
      }
    }
  },
);

test("a peer that died ends the collective with E_DIST naming this rank", { skip: noDist }, async () => {
  // No launcher kills rank 0 here: it must find out by itself, as under a supervisor such as torchrun.
  const r = await runRanks("dist_worker.js", ["die"], 2, { DIST_TEST_TIMEOUT_S: "10" }, false);
  assert.equal(r.failed?.rank, 1);
  assert.match(r.failed!.how, /status 3/);
  const o = resultOf<{ error: string; seconds: number }>(r, 0);
  assert.match(o.error, /E_DIST/);
  assert.match(o.error, /rank 0 of 2: all-reduce \(sum\) failed/);
  assert.ok(o.seconds < 12, `took ${o.seconds} s`);
});

test("a peer that hangs ends the collective with E_DIST after the timeout", { skip: noDist }, async () => {
  const r = await runRanks("dist_worker.js", ["hang"], 2, { DIST_TEST_TIMEOUT_S: "3" });
  const o = resultOf<{ error: string; seconds: number }>(r, 0);
  assert.match(o.error, /E_DIST/);
  assert.match(o.error, /collective timeout 3 s/);
  assert.ok(o.seconds >= 2.5 && o.seconds < 8, `took ${o.seconds} s`);
  // Rank 0 exits with an error, and the launcher stops the hung rank.
  assert.equal(r.failed?.rank, 0);
  assert.equal(r.workers[1]!.signal, "SIGKILL");
});

const python = findTorchPython();

test(
  "under torchrun's agent store (TORCHELASTIC_USE_AGENT_STORE=True) rank 0 joins PyTorch's TCPStore instead of hosting one",
  { skip: noDist || (python === undefined && "PyTorch (python3-torch) is not installed") },
  async () => {
    const here = (f: string) => fileURLToPath(new URL(`../support/${f}`, import.meta.url));
    // The .py helper stays in the source tree; the worker is the compiled one.
    const script = here("agent_store.py").replace(/\/dist\/test\//, "/test/");
    const r = spawnSync(python!, [script, String(await freePort()), "2", here("dist_worker.js"), "collectives"], {
      encoding: "utf8",
      env: { ...process.env, TASKSR_THREADS: "1" },
    });
    assert.equal(r.status, 0, r.stderr);
    const workers = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { status: number; stdout: string; stderr: string });
    assert.equal(workers.length, 2);
    for (const w of workers) {
      assert.equal(w.status, 0, w.stderr);
      assert.match(w.stdout, /RESULT \{"sum":\[3,30\]/);
    }
  },
);

test(
  "GLOO_SOCKET_IFNAME chooses the interface Gloo connects on; an unknown one is an E_DIST at the rendezvous",
  { skip: noDist },
  async () => {
    const ok = await runRanks("dist_worker.js", ["collectives"], 2, { GLOO_SOCKET_IFNAME: "lo" });
    assert.equal(ok.status, 0, ok.workers.map((w) => w.stderr).join("\n"));
    assert.deepEqual(resultOf(ok, 1).sum, [3, 30]);
    const bad = await runRanks("dist_worker.js", ["collectives"], 2, { GLOO_SOCKET_IFNAME: "no-such-if0" });
    assert.notEqual(bad.status, 0);
    assert.match(bad.workers[bad.failed!.rank]!.stderr, /rendezvous at 127\.0\.0\.1:\d+ failed.*E_DIST/s);
    assert.match(bad.workers[bad.failed!.rank]!.stderr, /no-such-if0/);
  },
);
