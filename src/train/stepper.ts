/**
 * Stepper: one network's optimizer with its schedule, gradient accumulation and (fp16) loss scaling.
 *
 * Losses are back-propagated with `backward(loss, steppers)`: divided by the accumulation count (the accumulated
 * gradient is the mean over the window) and, with fp16, multiplied by the shared loss scale. `step()` acts only at
 * the end of an accumulation window: it sets the learning rate from the schedule, unscales and checks the gradients,
 * steps and clears them.
 */

import type { Reducer } from "../dist/group.js";
import { noGrad } from "../engine/autograd.js";
import type { Optimizer } from "../engine/optim.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import type { Schedule } from "./schedule.js";

/** Dynamic loss scaling for fp16 (torch GradScaler defaults); one instance shared by all steppers of a run. */
export class LossScaler {
  scale = 2 ** 16;
  /** Set when any stepper found inf/NaN gradients in the current iteration. */
  foundInf = false;
  #goodSteps = 0;
  constructor(
    readonly growthInterval = 2000,
    readonly growth = 2,
    readonly backoff = 0.5,
  ) {}
  /** Divides gradients by the scale; false when any is inf/NaN. */
  unscale(params: readonly Tensor[]): boolean {
    let finite = true;
    noGrad(() =>
      scope(() => {
        for (const p of params) {
          const g = p.grad;
          if (g === undefined) continue;
          g.mul_(1 / this.scale);
          if (!g.isfinite().all().item()) finite = false;
        }
      }),
    );
    if (!finite) this.foundInf = true;
    return finite;
  }
  /** Adjusts the scale once per iteration (back off after an overflow, grow after a run of good steps). */
  update(): void {
    if (this.foundInf) {
      this.scale *= this.backoff;
      this.#goodSteps = 0;
    } else if (++this.#goodSteps % this.growthInterval === 0) {
      this.scale *= this.growth;
    }
    this.foundInf = false;
  }
  /** The scale and the count of good steps since the last change, for checkpoints. */
  state(): { scale: number; goodSteps: number } {
    return { scale: this.scale, goodSteps: this.#goodSteps };
  }
  loadState(s: { scale: number; goodSteps: number }): void {
    this.scale = s.scale;
    this.#goodSteps = s.goodSteps;
  }
}

export class Stepper {
  /** Set by the trainer before each micro-batch. */
  iteration = 0;
  windowEnd = true;
  /** Optimizer steps skipped because of non-finite fp16 gradients. */
  skipped = 0;
  /**
   * Distributed training: the gradient reduction of this stepper's parameters (DDP). Armed only for the backward
   * that ends an accumulation window; earlier micro-batches accumulate locally (DDP's no_sync).
   */
  reducer: Reducer | undefined;

  constructor(
    readonly optimizer: Optimizer<{ lr: number }>,
    /** One schedule per parameter group (group lr multipliers already applied). */
    readonly schedules: readonly Schedule[],
    readonly accumulation = 1,
    readonly scaler?: LossScaler,
  ) {}

  /** Current learning rate of group 0 (for logs). */
  get lr(): number {
    return this.optimizer.paramGroups[0]!.lr;
  }

  /** Steps the optimizer if this micro-batch ends an accumulation window. */
  step(): void {
    if (!this.windowEnd) return;
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.schedules[i]!.lr(this.iteration);
    });
    const params = this.optimizer.paramGroups.flatMap((g) => g.params);
    if (this.scaler && !this.scaler.unscale(params)) this.skipped++;
    else this.optimizer.step();
    this.optimizer.zeroGrad();
  }

  /** backward(loss, [this]) then step(). */
  backwardStep(loss: Tensor): void {
    backward(loss, [this]);
    this.step();
  }
}

/**
 * Back-propagates a loss whose gradients feed the given steppers (they share accumulation and loss scale). Only
 * the reducers of these steppers are armed, so a network the recipe does not train in this backward (SR4IR's
 * frozen phase) is never waited for.
 */
export function backward(loss: Tensor, steppers: readonly Stepper[]): void {
  for (const st of steppers) if (st.windowEnd) st.reducer?.prepare([loss]);
  const s = steppers[0];
  const factor = s === undefined ? 1 : (s.scaler?.scale ?? 1) / s.accumulation;
  if (factor === 1) loss.backward();
  else scope(() => loss.mul(factor).backward());
}
