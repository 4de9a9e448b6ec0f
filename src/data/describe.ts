/**
 * Descriptions from which a data worker thread rebuilds the dataset and the transform of a loader: plain,
 * structured-clonable data recorded when they are made from a config (`createDataset`, dataset views, `presetFor`).
 * Datasets and transforms made in code have none; a loader with workers then says so (E_CONFIG).
 */
import type { Split } from "./transforms/presets.js";
import type { Dataset } from "./types.js";

export interface DatasetDescription {
  /** The dataset config block, `{ type, ...options }`, with paths already resolved. */
  config: Record<string, unknown>;
  /** Config path named in errors, e.g. "data.train". */
  where: string;
  /** A view: sample i is sample indices[i] of the dataset the config opens. */
  indices?: number[];
}

export interface TransformDescription {
  task: string;
  split: Split;
  /** The preset's options (sizes, flip probability). */
  options: Record<string, unknown>;
}

const datasets = new WeakMap<object, DatasetDescription>();
const transforms = new WeakMap<object, TransformDescription>();

export function describeDataset<D extends Dataset>(ds: D, d: DatasetDescription): D {
  datasets.set(ds, d);
  return ds;
}

export const datasetDescription = (ds: Dataset): DatasetDescription | undefined => datasets.get(ds);

/** The description of a view of `parent` whose sample i is parent's sample indices[i]. */
export function describeView<D extends Dataset>(view: D, parent: Dataset, indices: readonly number[]): D {
  const p = datasets.get(parent);
  if (p) describeDataset(view, { ...p, indices: indices.map((i) => (p.indices ? p.indices[i]! : i)) });
  return view;
}

export function describeTransform<T extends object>(t: T, d: TransformDescription): T {
  transforms.set(t, d);
  return t;
}

export const transformDescription = (t: object): TransformDescription | undefined => transforms.get(t);
