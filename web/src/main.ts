/**
 * tasksr's in-browser page: an LR image (a bundled sample or a dropped file) goes through each column's SR model
 * and the task network in a Web Worker (worker.ts); each column shows its SR image with the task network's answer
 * (class and score, or the segmentation overlay). `window.__tasksr` lets the browser test drive the page and read
 * the tensors back.
 */
import { toByte } from "../../src/infer/onnx.js";
import type { ColumnResult, FromWorker, Manifest, ToWorker } from "./protocol.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker("worker.js", { type: "module" });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);

let manifest: Manifest;
let nextId = 1;
let current: number | undefined;
/** Per run id: resolves with the columns, or null when cancelled. */
const pending = new Map<number, (r: ColumnResult[] | null) => void>();

interface PageApi {
  ready: Promise<{ backend: string }>;
  manifest?: Manifest;
  /** Tiles done / total of the current column (the browser test cancels mid-run with it). */
  progress?: { done: number; total: number; column: string };
  /** The last finished run's columns, and its LR input. */
  last?: { columns: ColumnResult[]; lr: { width: number; height: number; rgb: Uint8Array } };
  runSample(index: number, o?: { tile?: number }): Promise<ColumnResult[] | null>;
  cancel(): void;
  bench(url: string, height: number, width: number, runs: number): Promise<{ ms: number[]; backend: string }>;
}
const api: Partial<PageApi> = {};
(window as unknown as { __tasksr: Partial<PageApi> }).__tasksr = api;

let readyResolve: (v: { backend: string }) => void;
let benchResolve: ((v: { ms: number[]; backend: string }) => void) | undefined;
api.ready = new Promise((r) => {
  readyResolve = r;
});

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "loaded":
      $("backend").textContent = m.backend === "webgpu" ? "WebGPU" : "WASM";
      setStatus("ready");
      readyResolve({ backend: m.backend });
      break;
    case "progress":
      api.progress = { done: m.done, total: m.total, column: m.column };
      $<HTMLProgressElement>("progress").max = m.total;
      $<HTMLProgressElement>("progress").value = m.done;
      setStatus(`${m.column}: tile ${m.done} / ${m.total}`);
      break;
    case "result":
      pending.get(m.id)?.(m.columns);
      break;
    case "cancelled":
      setStatus("cancelled");
      pending.get(m.id)?.(null);
      break;
    case "error":
      setStatus(`error: ${m.message}`);
      if (m.id !== undefined) pending.get(m.id)?.(null);
      break;
    case "bench":
      benchResolve?.({ ms: m.ms, backend: m.backend });
      break;
  }
};

function setStatus(s: string) {
  $("status").textContent = s;
}

async function decode(blob: Blob): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  const bmp = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = canvas.getContext("2d")!;
  ctx.drawImage(bmp, 0, 0);
  const rgba = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
  const rgb = new Uint8Array(bmp.width * bmp.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { width: bmp.width, height: bmp.height, rgb };
}

/** A 20-colour palette (Pascal VOC's first colours) for segmentation overlays; class 0 (background) is clear. */
const PALETTE = [
  [0, 0, 0],
  [128, 0, 0],
  [0, 128, 0],
  [128, 128, 0],
  [0, 0, 128],
  [128, 0, 128],
  [0, 128, 128],
  [128, 128, 128],
  [64, 0, 0],
  [192, 0, 0],
  [64, 128, 0],
  [192, 128, 0],
];

/** Per pixel, the class with the highest score of a segmentation output [K, H, W]. */
function argmaxMask(c: ColumnResult): Uint16Array {
  const k = c.outputDims[0]!;
  const plane = c.width * c.height;
  const mask = new Uint16Array(plane);
  for (let i = 0; i < plane; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (c.output[j * plane + i]! > c.output[best * plane + i]!) best = j;
    mask[i] = best;
  }
  return mask;
}

/** The SR image, with the segmentation mask blended over it where it is not background. */
function drawColumn(canvas: HTMLCanvasElement, c: ColumnResult, mask: Uint16Array | undefined) {
  const { width: w, height: h } = c;
  canvas.width = w;
  canvas.height = h;
  const img = new ImageData(w, h);
  const plane = w * h;
  for (let i = 0; i < plane; i++) {
    let [r, g, b] = [toByte(c.sr[i]!), toByte(c.sr[plane + i]!), toByte(c.sr[2 * plane + i]!)];
    const best = mask?.[i] ?? 0;
    if (best !== 0) {
      const p = PALETTE[best % PALETTE.length]!;
      [r, g, b] = [(r + p[0]!) >> 1, (g + p[1]!) >> 1, (b + p[2]!) >> 1];
    }
    img.data.set([r, g, b, 255], i * 4);
  }
  canvas.getContext("2d")!.putImageData(img, 0, 0);
}

function answer(c: ColumnResult, mask: Uint16Array | undefined): string {
  const names = manifest.classes;
  if (mask === undefined) {
    const max = Math.max(...c.output);
    const e = Array.from(c.output, (v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    const best = e.indexOf(Math.max(...e));
    return `${names[best] ?? best} (${((100 * e[best]!) / sum).toFixed(1)} %)`;
  }
  const counts = new Array<number>(c.outputDims[0]!).fill(0);
  for (const best of mask) counts[best]!++;
  const found = counts
    .map((n, j) => [n, j] as const)
    .filter(([n, j]) => n > 0 && j !== 0)
    .sort((a, b) => b[0] - a[0])
    .map(([n, j]) => `${names[j] ?? j} ${((100 * n) / mask.length).toFixed(0)} %`);
  return found.length > 0 ? found.join(", ") : "background only";
}

function show(columns: ColumnResult[], lr: { width: number; height: number; rgb: Uint8Array }) {
  const grid = $("grid");
  grid.replaceChildren();
  const lrCanvas = document.createElement("canvas");
  lrCanvas.width = lr.width;
  lrCanvas.height = lr.height;
  const lrImg = new ImageData(lr.width, lr.height);
  for (let i = 0; i < lr.width * lr.height; i++) lrImg.data.set([...lr.rgb.subarray(i * 3, i * 3 + 3), 255], i * 4);
  lrCanvas.getContext("2d")!.putImageData(lrImg, 0, 0);
  grid.append(figure(lrCanvas, `LR input (${lr.width}×${lr.height})`, ""));
  const overlay = $<HTMLInputElement>("overlay").checked;
  for (const c of columns) {
    const mask = manifest.task === "segmentation" ? argmaxMask(c) : undefined;
    const canvas = document.createElement("canvas");
    drawColumn(canvas, c, overlay ? mask : undefined);
    const label = manifest.columns.find((m) => m.name === c.name)?.label ?? c.name;
    grid.append(figure(canvas, `${label} ×${manifest.scale}`, `${answer(c, mask)} · ${c.ms.toFixed(0)} ms`));
  }
}

function figure(canvas: HTMLCanvasElement, title: string, caption: string): HTMLElement {
  const f = document.createElement("figure");
  const h = document.createElement("h3");
  h.textContent = title;
  const p = document.createElement("figcaption");
  p.textContent = caption;
  p.className = "answer";
  f.append(h, canvas, p);
  return f;
}

async function runImage(lr: { width: number; height: number; rgb: Uint8Array }, tile: number) {
  const id = nextId++;
  current = id;
  $<HTMLButtonElement>("cancel").disabled = false;
  $<HTMLButtonElement>("run").disabled = true;
  setStatus("running");
  const done = new Promise<ColumnResult[] | null>((r) => pending.set(id, r));
  send({ type: "run", id, width: lr.width, height: lr.height, rgb: lr.rgb.slice(), tile, overlap: 16 });
  const columns = await done;
  pending.delete(id);
  current = undefined;
  $<HTMLButtonElement>("cancel").disabled = true;
  $<HTMLButtonElement>("run").disabled = false;
  if (columns !== null) {
    api.last = { columns, lr };
    show(columns, lr);
    setStatus("done");
  }
  return columns;
}

let selected: Blob | undefined;

async function sampleBlob(index: number): Promise<Blob> {
  const s = manifest.samples[index];
  if (s === undefined) throw new Error(`no sample ${index}`);
  return (await fetch(s.url)).blob();
}

api.runSample = async (index, o = {}) => runImage(await decode(await sampleBlob(index)), o.tile ?? tileSize());
api.cancel = () => {
  if (current !== undefined) send({ type: "cancel", id: current });
};
api.bench = (url, height, width, runs) =>
  new Promise((resolve) => {
    benchResolve = resolve;
    send({ type: "bench", url, height, width, runs });
  });

const tileSize = () => Number($<HTMLInputElement>("tile").value) || 0;

async function main() {
  manifest = (await (await fetch("data/manifest.json")).json()) as Manifest;
  api.manifest = manifest;
  $("task").textContent = `${manifest.task} · ${manifest.classes.length} classes · ×${manifest.scale}`;
  const select = $<HTMLSelectElement>("sample");
  for (const [i, s] of manifest.samples.entries()) select.add(new Option(s.label, String(i)));
  select.onchange = async () => {
    selected = await sampleBlob(Number(select.value));
  };
  selected = manifest.samples.length > 0 ? await sampleBlob(0) : undefined;
  $<HTMLInputElement>("file").onchange = (e) => {
    selected = (e.target as HTMLInputElement).files?.[0] ?? selected;
  };
  const drop = $("drop");
  drop.ondragover = (e) => e.preventDefault();
  drop.ondrop = (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f !== undefined) {
      selected = f;
      void decode(f).then((lr) => runImage(lr, tileSize()));
    }
  };
  $("run").onclick = async () => {
    if (selected !== undefined) await runImage(await decode(selected), tileSize());
  };
  $("cancel").onclick = () => api.cancel!();
  $<HTMLInputElement>("overlay").onchange = () => {
    if (api.last) show(api.last.columns, api.last.lr);
  };
  setStatus("loading models");
  send({ type: "load", manifest });
}

main().catch((err: Error) => setStatus(`error: ${err.message}`));
