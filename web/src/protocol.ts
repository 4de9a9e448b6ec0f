/** Messages between the page (main.ts) and the inference worker (worker.ts). */

/** One column of the page: an SR model (or bicubic, exported as a graph too) followed by the task network. */
export interface ModelSpec {
  name: string;
  label: string;
  url: string;
}

export interface Manifest {
  task: "classification" | "segmentation";
  classes: string[];
  scale: number;
  columns: ModelSpec[];
  /** The task network (image -> logits [N, K] or masks [N, K, H, W]). */
  taskModel: string;
  samples: { url: string; label: string }[];
}

export type ToWorker =
  | { type: "load"; manifest: Manifest }
  | { type: "run"; id: number; width: number; height: number; rgb: Uint8Array; tile: number; overlap: number }
  | { type: "cancel"; id: number }
  | { type: "bench"; url: string; height: number; width: number; runs: number };

export interface ColumnResult {
  name: string;
  /** SR output, planar float [3, H, W] before rounding. */
  sr: Float32Array;
  width: number;
  height: number;
  /** Task output: logits [K], or masks [K, H, W]. */
  output: Float32Array;
  outputDims: number[];
  ms: number;
}

export type FromWorker =
  | { type: "loaded"; backend: string }
  | { type: "progress"; id: number; done: number; total: number; column: string }
  | { type: "result"; id: number; columns: ColumnResult[] }
  | { type: "cancelled"; id: number }
  | { type: "error"; id?: number; message: string }
  | { type: "bench"; ms: number[]; backend: string };
