/**
 * The page's inference worker: onnxruntime-web (WebGPU when the browser has it, WASM otherwise) runs every column's
 * SR model tile by tile with tasksr's own tiling (src/infer/onnx.ts, the code onnxruntime-node runs), then the task
 * network on the float SR output. Runs off the main thread, so the page never freezes; a cancel message is seen
 * between tiles.
 */
import * as ort from "onnxruntime-web/webgpu";
import { OnnxUpscaler, type OrtLike } from "../../src/infer/onnx.js";
import type { ColumnResult, FromWorker, Manifest, ToWorker } from "./protocol.js";

ort.env.wasm.wasmPaths = "/ort/";
ort.env.wasm.numThreads = self.crossOriginIsolated ? navigator.hardwareConcurrency : 1;

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let backend = "wasm";
let columns: { name: string; up: OnnxUpscaler }[] = [];
let task: ort.InferenceSession | undefined;
const running = new Map<number, AbortController>();

async function providers(): Promise<string[]> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu !== undefined && (await gpu.requestAdapter().catch(() => null)) !== null) return ["webgpu", "wasm"];
  return ["wasm"];
}

async function fetchModel(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function load(m: Manifest): Promise<void> {
  const eps = await providers();
  backend = eps[0]!;
  const options = { executionProviders: eps };
  const o = ort as unknown as OrtLike;
  columns = [];
  for (const c of m.columns)
    columns.push({ name: c.name, up: await OnnxUpscaler.create(o, await fetchModel(c.url), options) });
  task = await ort.InferenceSession.create(await fetchModel(m.taskModel), options);
  post({ type: "loaded", backend });
}

async function run(msg: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const stop = new AbortController();
  running.set(msg.id, stop);
  try {
    const { width: w, height: h } = msg;
    const planar = new Float32Array(3 * h * w);
    for (let i = 0; i < h * w; i++) {
      for (let c = 0; c < 3; c++) planar[c * h * w + i] = msg.rgb[i * 3 + c]! / 255;
    }
    const results: ColumnResult[] = [];
    for (const col of columns) {
      const t0 = performance.now();
      const s = col.up.scale;
      const sr = await col.up.upscalePlanar(planar, h, w, {
        tile: msg.tile,
        overlap: msg.overlap,
        signal: stop.signal,
        onProgress: (done, total) => post({ type: "progress", id: msg.id, done, total, column: col.name }),
      });
      const input = new ort.Tensor("float32", sr, [1, 3, h * s, w * s]);
      const out = await task!.run({ [task!.inputNames[0]!]: input });
      const y = out[task!.outputNames[0]!]!;
      results.push({
        name: col.name,
        sr,
        width: w * s,
        height: h * s,
        output: (y.data as Float32Array).slice(),
        outputDims: y.dims.slice(1),
        ms: performance.now() - t0,
      });
      stop.signal.throwIfAborted();
    }
    post(
      { type: "result", id: msg.id, columns: results },
      results.flatMap((r) => [r.sr.buffer, r.output.buffer]),
    );
  } catch (err) {
    if ((err as Error).name === "AbortError") post({ type: "cancelled", id: msg.id });
    else post({ type: "error", id: msg.id, message: String((err as Error).message ?? err) });
  } finally {
    running.delete(msg.id);
  }
}

async function bench(msg: Extract<ToWorker, { type: "bench" }>): Promise<void> {
  const eps = await providers();
  const session = await ort.InferenceSession.create(await fetchModel(msg.url), { executionProviders: eps });
  const x = new ort.Tensor("float32", new Float32Array(3 * msg.height * msg.width).fill(0.5), [
    1,
    3,
    msg.height,
    msg.width,
  ]);
  const feeds = { [session.inputNames[0]!]: x };
  await session.run(feeds); // warm-up: kernels, memory
  const ms: number[] = [];
  for (let i = 0; i < msg.runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  await session.release();
  post({ type: "bench", ms, backend: eps[0]! });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  const fail = (err: unknown) => post({ type: "error", message: String((err as Error).message ?? err) });
  if (m.type === "load") load(m.manifest).catch(fail);
  else if (m.type === "run") void run(m);
  else if (m.type === "cancel") running.get(m.id)?.abort();
  else if (m.type === "bench") bench(m).catch(fail);
};
