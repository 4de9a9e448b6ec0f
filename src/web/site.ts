/**
 * The data folder of the in-browser page (web/): one ONNX SR model per column, the task network, LR samples made
 * from the validation set with the run's own degradation, and manifest.json (web/src/protocol.ts) tying them
 * together. `tasksr web` builds it from a demo study: bicubic | plain SR (SR-FT: trained on pixels) | task-driven SR
 * (T→S, TDSR: trained through the frozen task network), all followed by that one task network (H→T's), so the
 * columns differ only in how the LR image was upscaled.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { imagesToTensor, tensorToImages } from "../data/degrade/image_tensor.js";
import { writeImage } from "../data/io/image.js";
import { evalDegradation } from "../data/run.js";
import { scope } from "../engine/scope.js";
import { TasksrError } from "../errors.js";
import { planFromRun } from "../eval/plan.js";
import { exportPipeline, type PipelineExportResult, type PipelineSource } from "../export/pipeline.js";
import { writeFileAtomic } from "../fs/atomic.js";

export interface SiteColumn {
  name: string;
  label: string;
  source: PipelineSource;
}

export interface SiteOptions {
  columns: SiteColumn[];
  /** Run folder whose task network answers in every column (its validation set gives the samples). */
  taskRun: string;
  out: string;
  samples?: number;
  onExport?: (r: PipelineExportResult) => void;
}

/** The columns of a demo study folder (`tasksr demo` writes <out>/<study>/seed-0/<setting>). */
export function demoColumns(seedDir: string, scale: number): { columns: SiteColumn[]; taskRun: string } {
  const run = (s: string) => {
    const dir = join(seedDir, s);
    if (!existsSync(dir)) {
      throw new TasksrError(
        "E_CLI_ARG",
        `${seedDir}: no ${s} run; the page needs a demo with sr-ft, task2sr and hr2task`,
      );
    }
    return dir;
  };
  return {
    columns: [
      { name: "bicubic", label: "bicubic", source: { sr: "bicubic", scale } },
      { name: "plain", label: "plain SR (SR-FT)", source: { run: run("sr-ft") } },
      { name: "task-driven", label: "task-driven SR (T→S)", source: { run: run("task2sr") } },
    ],
    taskRun: run("hr2task"),
  };
}

export async function buildSite(o: SiteOptions): Promise<void> {
  mkdirSync(join(o.out, "samples"), { recursive: true });
  const columns = [];
  for (const c of o.columns) {
    const file = `${c.name}.onnx`;
    const r = await exportPipeline(c.source, { part: "sr", out: join(o.out, file) });
    o.onExport?.(r);
    columns.push({ name: c.name, label: c.label, url: `data/${file}` });
  }
  const t = await exportPipeline({ run: o.taskRun }, { part: "task", out: join(o.out, "task.onnx") });
  o.onExport?.(t);

  const plan = await planFromRun(o.taskRun, { device: "cpu", limit: o.samples ?? 6 });
  try {
    const degrade = evalDegradation(plan.cfg);
    const samples = [];
    for (let i = 0; i < plan.val.length; i++) {
      const s = await plan.val.get(i);
      const hr = imagesToTensor([s.image]);
      const lr = await degrade(hr);
      const [img] = scope(() => tensorToImages(lr));
      hr.dispose();
      lr.dispose();
      const file = `samples/${i}.png`;
      await writeImage(join(o.out, file), img!);
      const target = s.target as { label?: number };
      const label = target.label === undefined ? s.id : `${plan.val.classes[target.label]} (${s.id})`;
      samples.push({ url: `data/${file}`, label });
    }
    const manifest = {
      task: plan.cfg.task,
      classes: plan.val.classes,
      scale: plan.cfg.scale,
      columns,
      taskModel: "data/task.onnx",
      samples,
    };
    if (manifest.task !== "classification" && manifest.task !== "segmentation") {
      throw new TasksrError("E_CLI_ARG", `the page shows classification and segmentation, not ${manifest.task}`);
    }
    writeFileAtomic(join(o.out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  } finally {
    plan.dispose();
  }
}
