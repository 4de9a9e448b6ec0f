// Parity with PyTorch for views, indexing, joining and padding: outputs and gradients (1e-5 relative, 1e-6 absolute;
// these ops only move values, so they are in fact exact).
import { cat, F, type IndexSpec, type Slice, stack, where } from "../../src/engine/index.js";
import { type Inputs, listed, parityTests } from "../support/parity.js";

/** JSON index spec from the generator: null is `:`, {tensor} names an input, other objects are slices. */
type SpecJson = number | null | "..." | { tensor: string } | Slice;

const specs = (inputs: Inputs, list: SpecJson[]): IndexSpec[] =>
  list.map((s) => (s !== null && typeof s === "object" && "tensor" in s ? inputs[s.tensor]! : s));

parityTests("views", {
  reshape: ({ x }, a: { shape: number[] }) => x!.reshape(...a.shape),
  view: ({ x }, a: { shape: number[] }) => x!.view(...a.shape),
  permute: ({ x }, a: { dims: number[] }) => x!.permute(...a.dims),
  transpose: ({ x }, a: { a: number; b: number }) => x!.transpose(a.a, a.b),
  contiguous: ({ x }, a: { dims: number[] }) => x!.permute(...a.dims).contiguous(),
  squeeze: ({ x }, a: { dim?: number }) => x!.squeeze(a.dim),
  unsqueeze: ({ x }, a: { dim: number }) => x!.unsqueeze(a.dim),
  expand: ({ x }, a: { shape: number[] }) => x!.expand(...a.shape),
  flatten: ({ x }, a: { start: number; end: number }) => x!.flatten(a.start, a.end),
  slice: ({ x }, a: { dim: number; start?: number; end?: number; step: number }) =>
    x!.slice(a.dim, a.start, a.end, a.step),
  narrow: ({ x }, a: { dim: number; start: number; length: number }) => x!.narrow(a.dim, a.start, a.length),
  select: ({ x }, a: { dim: number; index: number }) => x!.select(a.dim, a.index),
  index: (inputs, a: { specs: SpecJson[] }) => inputs.x!.index(...specs(inputs, a.specs)),
  // The generator clones first too: index_put_ on a leaf that requires grad is not allowed.
  indexPut: (inputs, a: { specs: SpecJson[]; value?: number; accumulate: boolean }) =>
    inputs.x!.clone().indexPut_(specs(inputs, a.specs), inputs.v ?? a.value!, a.accumulate),
  indexSelect: ({ x, index }, a: { dim: number }) => x!.indexSelect(a.dim, index!),
  gather: ({ x, index }, a: { dim: number }) => x!.gather(a.dim, index!),
  scatter: (
    { x, index, src },
    a: { dim: number; value?: number; reduce?: "sum" | "prod" | "mean" | "amax" | "amin" },
  ) => x!.scatter(a.dim, index!, src ?? a.value!, a.reduce),
  scatterAdd: ({ x, index, src }, a: { dim: number }) => x!.scatterAdd(a.dim, index!, src!),
  maskedSelect: ({ x, mask }) => x!.maskedSelect(mask!),
  maskedFill: ({ x, mask, value }, a: { value?: number }) => x!.maskedFill(mask!, value ?? a.value!),
  where: ({ cond, a, b }, s: { a?: number; b?: number }) => where(cond!, a ?? s.a!, b ?? s.b!),
  cat: (inputs, a: { dim: number }) => cat(listed(inputs), a.dim),
  stack: (inputs, a: { dim: number }) => stack(listed(inputs), a.dim),
  split: ({ x }, a: { size: number | number[]; dim: number }) => x!.split(a.size, a.dim),
  chunk: ({ x }, a: { chunks: number; dim: number }) => x!.chunk(a.chunks, a.dim),
  unbind: ({ x }, a: { dim: number }) => x!.unbind(a.dim),
  pad: ({ x }, a: { pads: number[]; mode: "constant" | "reflect" | "replicate" | "circular"; value?: number }) =>
    F.pad(x!, a.pads, a.mode, a.value),
  flip: ({ x }, a: { dims: number[] }) => x!.flip(...a.dims),
  roll: ({ x }, a: { shifts: number[]; dims: number[] }) => x!.roll(a.shifts, a.dims),
  repeat: ({ x }, a: { times: number[] }) => x!.repeat(...a.times),
  repeatInterleave: ({ x }, a: { repeats: number; dim: number }) => x!.repeatInterleave(a.repeats, a.dim),
  tril: ({ x }, a: { k: number }) => x!.tril(a.k),
  triu: ({ x }, a: { k: number }) => x!.triu(a.k),
  unfold: ({ x }, a: { dim: number; size: number; step: number }) => x!.unfold(a.dim, a.size, a.step),
});
