/**
 * Every metric is an accumulator: `update(...)` adds data, `compute()` reads the result without consuming it,
 * `merge(other)` folds in an accumulator filled elsewhere (another worker, another shard) so that merging and then
 * computing equals computing over all the data, and `reset()` empties it.
 */
export interface Accumulator<Result> {
  compute(): Result;
  /** Adds `other`'s data to this accumulator (`other` is left unchanged). Both must have the same settings. */
  merge(other: this): void;
  reset(): void;
}
