/** Batching: collate functions, batch plans and the prefetching DataLoader. */
export * from "./collate.js";
export * from "./loader.js";
export { aspectRatioGroups, epochOrder, groupedBatches, sequentialBatches } from "./sampler.js";
