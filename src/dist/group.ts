/**
 * A c10d process group (TCPStore rendezvous + Gloo) and the collectives the trainer uses. Every failure of a
 * collective (a peer that died, hung past the timeout or never joined) becomes one E_DIST naming this rank, the
 * operation and the timeout.
 */
import { tensor } from "../engine/creation.js";
import { type GroupHandle, N, type PendingHandle, type ReducerHandle } from "../engine/native.js";
import { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { DistEnv } from "./env.js";

/** Default collective timeout: long enough for an evaluation pass of one rank, short enough to end a hung job. */
export const DEFAULT_TIMEOUT_S = 300;

/**
 * Seed of rank `rank`'s global random stream (dropout, detector sampling) in a run seeded `seed`: every rank builds
 * the same initial weights from `seed`, then draws its own numbers, as DDP jobs seed per rank. `iteration` restarts
 * the stream of a rank that a checkpoint of fewer processes holds no state for.
 */
export const rankSeed = (seed: number, rank: number, iteration = 0): number =>
  seed + 7919 * (rank + 1) + 104729 * iteration;

export interface ReducerOptions {
  /** Bucket size in MiB (DDP's bucket_cap_mb, default 25). */
  bucketCapMb?: number;
  /** Tolerate parameters that get no gradient in a backward (DDP's find_unused_parameters; default false). */
  findUnused?: boolean;
}

export class ProcessGroup {
  readonly rank: number;
  readonly world: number;
  readonly localRank: number;
  readonly localWorld: number;
  readonly timeoutS: number;
  #h: GroupHandle | undefined;

  private constructor(env: DistEnv, timeoutS: number, h: GroupHandle) {
    this.rank = env.rank;
    this.world = env.world;
    this.localRank = env.localRank;
    this.localWorld = env.localWorld;
    this.timeoutS = timeoutS;
    this.#h = h;
  }

  /** Joins the rendezvous of `env` (blocks until every rank has joined or the timeout has passed). */
  static init(env: DistEnv, o: { timeoutS?: number } = {}): ProcessGroup {
    if (!N.distAvailable()) {
      throw new TasksrError(
        "E_DIST",
        "this build of the native engine has no c10d/Gloo (distributed training): install libgloo-dev and rebuild with `node scripts/build-native.mjs --force` (a build against libtorch 2.x has none yet; docs/distributed.md)",
      );
    }
    const timeoutS = o.timeoutS ?? DEFAULT_TIMEOUT_S;
    try {
      const h = N.distInit(env.rank, env.world, env.addr, env.port, Math.round(timeoutS * 1000), env.agentStore);
      return new ProcessGroup(env, timeoutS, h);
    } catch (err) {
      throw new TasksrError(
        "E_DIST",
        `rank ${env.rank} of ${env.world}: rendezvous at ${env.addr}:${env.port} failed within ${timeoutS} s (${(err as Error).message}); check MASTER_ADDR/MASTER_PORT and that every rank was started`,
        { cause: err },
      );
    }
  }

  #handle(op: string): GroupHandle {
    if (this.#h === undefined)
      throw new TasksrError("E_DIST", `rank ${this.rank}: ${op} after the process group was shut down`);
    return this.#h;
  }

  /** Runs a native collective, turning its failure into E_DIST. */
  #run<T>(op: string, fn: (h: GroupHandle) => T): T {
    const h = this.#handle(op);
    try {
      return fn(h);
    } catch (err) {
      throw this.collectiveError(op, err);
    }
  }

  /** The error for a failed collective `op`. */
  collectiveError(op: string, err: unknown): TasksrError {
    const msg = err instanceof Error ? err.message : String(err);
    return new TasksrError(
      "E_DIST",
      `rank ${this.rank} of ${this.world}: ${op} failed (collective timeout ${this.timeoutS} s): ${msg}; when another rank died, hung or stopped, its own output or the launcher says which`,
      { cause: err },
    );
  }

  /** In-place all-reduce of contiguous tensors. */
  allreduce(ts: readonly Tensor[], op: "sum" | "max" | "min" = "sum"): void {
    this.#run(`all-reduce (${op})`, (h) =>
      N.distAllreduce(
        h,
        ts.map((t) => t.handle),
        op,
      ),
    );
  }

  /** In-place broadcast from `root` (flat buckets, as DDP broadcasts parameters and buffers). */
  broadcast(ts: readonly Tensor[], root = 0): void {
    this.#run("broadcast", (h) =>
      N.distBroadcast(
        h,
        ts.map((t) => t.handle),
        root,
      ),
    );
  }

  /** Every rank's copy of `t` (same shape on every rank), in rank order. */
  allgather(t: Tensor): Tensor[] {
    return this.#run("all-gather", (h) => N.distAllgather(h, t.handle).map((x) => new Tensor(x)));
  }

  barrier(): void {
    this.#run("barrier", (h) => N.distBarrier(h));
  }

  /** Sum over ranks whose backward sums the gradients over ranks (SyncBatchNorm's statistics). */
  allreduceSumGrad(t: Tensor): Tensor {
    return this.#run("all-reduce (sum, differentiable)", (h) => new Tensor(N.distAllreduceSumGrad(h, t.handle)));
  }

  /** Every rank's JSON value, in rank order. */
  allgatherJson<T>(value: T): T[] {
    const bytes = new Uint8Array(Buffer.from(JSON.stringify(value) ?? "null", "utf8"));
    const lengths = this.#gather(new Float64Array([bytes.length]));
    // all-gather needs one shape on every rank: pad to the longest message.
    const padded = new Uint8Array(Math.max(...lengths));
    padded.set(bytes);
    const t = tensor(padded);
    try {
      const parts = this.allgather(t);
      try {
        return parts.map((p, r) =>
          JSON.parse(Buffer.from((p.data() as Uint8Array).subarray(0, lengths[r]!)).toString("utf8")),
        ) as T[];
      } finally {
        for (const p of parts) p.dispose();
      }
    } finally {
      t.dispose();
    }
  }

  #gather(v: Float64Array): number[] {
    const t = tensor(v);
    try {
      const parts = this.allgather(t);
      const out = parts.map((p) => p.item() as number);
      for (const p of parts) p.dispose();
      return out;
    } finally {
      t.dispose();
    }
  }

  /** Rank `root`'s JSON value on every rank. */
  broadcastJson<T>(value: T, root = 0): T {
    return this.allgatherJson(this.rank === root ? value : null)[root] as T;
  }

  /**
   * Starts one all-reduce of the mean over ranks of each named value (every rank passes the same names) and, for
   * each flag, whether it holds on any rank; `wait()` returns them. It runs on Gloo's threads meanwhile, so its
   * round trip overlaps the next step. A non-finite value on one rank makes the mean non-finite on all.
   */
  meanAndAny(
    values: Readonly<Record<string, number>>,
    flags: readonly boolean[],
  ): { wait(): { values: Record<string, number>; flags: boolean[] } } {
    const keys = Object.keys(values).sort();
    const t = tensor(new Float64Array([...keys.map((k) => values[k]!), ...flags.map((f) => (f ? 1 : 0))]));
    let pending: PendingHandle;
    try {
      pending = this.#run("all-reduce (sum)", (h) => N.distAllreduceStart(h, [t.handle], "sum"));
    } catch (err) {
      t.dispose();
      throw err;
    }
    return {
      wait: () => {
        try {
          this.#run("all-reduce (sum)", () => N.distWait(pending));
          const sums = t.toArray();
          return {
            values: Object.fromEntries(keys.map((k, i) => [k, sums[i]! / this.world])),
            flags: flags.map((_, i) => sums[keys.length + i]! > 0),
          };
        } finally {
          t.dispose();
        }
      },
    };
  }

  /**
   * A c10d::Reducer over `params` (all requiring grad): after `prepare(outputs)`, the next backward from those
   * outputs all-reduces the gradients bucket by bucket and leaves their mean over the ranks in `.grad`.
   */
  reducer(params: readonly Tensor[], o: ReducerOptions = {}): Reducer {
    const cap = Math.round((o.bucketCapMb ?? 25) * 1024 * 1024);
    const h = this.#run("reducer setup", (g) =>
      N.ddpReducer(
        g,
        params.map((p) => p.handle),
        cap,
        o.findUnused ?? false,
      ),
    );
    return new Reducer(this, h);
  }

  /** Leaves the group (idempotent); collectives after it fail. */
  shutdown(): void {
    if (this.#h === undefined) return;
    N.distShutdown(this.#h);
    this.#h = undefined;
  }
}

/** DDP's gradient reduction for one network; see ProcessGroup.reducer. */
export class Reducer {
  constructor(
    readonly group: ProcessGroup,
    readonly handle: ReducerHandle,
  ) {}

  /** Arms the reduction for the backward from `outputs` (not calling it is DDP's no_sync: gradients stay local). */
  prepare(outputs: readonly Tensor[]): void {
    try {
      N.ddpPrepare(
        this.handle,
        outputs.map((t) => t.handle),
      );
    } catch (err) {
      throw this.group.collectiveError("gradient reduction", err);
    }
  }
}
