/**
 * `tasksr inspect <arch>`: parameters, MACs for an input and feature-tap shapes of a registered architecture;
 * `--list` prints every architecture. Parsing only: the work is `inspectArch` (src/models/inspect.ts).
 */
import type { Command } from "commander";
import { TasksrError } from "../../errors.js";
import { loadCommandPlugins, pluginOption } from "../plugins.js";

const positiveInt = (flag: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new TasksrError("E_CLI_ARG", `${flag} must be a positive integer, got "${v}"`);
  return n;
};

function parseInput(v: string): [number, number, number] {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(v);
  if (!m || m.slice(1).some((d) => Number(d) < 1)) {
    throw new TasksrError("E_CLI_ARG", `--input must be CxHxW with positive integers (e.g. 3x224x224), got "${v}"`);
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** 1234567 -> "1.23 M" */
const human = (n: number): string => {
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  const u = units.find(([f]) => n >= f);
  return u ? `${(n / u[0]).toFixed(2)} ${u[1]}` : String(n);
};
const shape = (s: readonly number[]) => `[${s.join(", ")}]`;

export function registerInspect(program: Command, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  pluginOption(program.command("inspect"))
    .description("show an architecture's parameters, MACs and feature taps (--list: all architectures)")
    .argument("[arch]", "architecture name (see --list)")
    .option("--scale <s>", "SR scale")
    .option("--classes <n>", "number of classes of a task network")
    .option(
      "--input <CxHxW>",
      "input size, batch 1 (default per kind: SR 3x32x32, cls 3x224x224, seg 3x480x480, det 3x320x320)",
    )
    .option("--json", "print one JSON object {arch, params, trainable, macs, taps}")
    .option("--list", "list every registered architecture (kind, name, description)")
    .action(async (arch: string | undefined, o: Record<string, string | boolean | string[] | undefined>) => {
      await loadCommandPlugins(o.plugin as string[]);
      const { inspectArch, listArchs } = await import("../../models/index.js");
      if (o.list) {
        const all = listArchs();
        if (o.json) {
          write(`${JSON.stringify(all.map((a) => ({ kind: a.kind, name: a.name, description: a.description })))}\n`);
          return;
        }
        const w = Math.max(...all.map((a) => a.kind.length));
        const n = Math.max(...all.map((a) => a.name.length));
        for (const a of all) write(`${a.kind.padEnd(w)}  ${a.name.padEnd(n)}  ${a.description}\n`);
        return;
      }
      if (arch === undefined) throw new TasksrError("E_CLI_ARG", "inspect needs an architecture name (or --list)");
      const s = inspectArch(arch, {
        scale: typeof o.scale === "string" ? positiveInt("--scale", o.scale) : undefined,
        classes: typeof o.classes === "string" ? positiveInt("--classes", o.classes) : undefined,
        input: typeof o.input === "string" ? parseInput(o.input) : undefined,
      });
      if (o.json) {
        const { params, trainable } = s;
        write(`${JSON.stringify({ arch: s.arch, params, trainable, macs: s.macs.total, taps: s.taps })}\n`);
        return;
      }
      const lines = [
        `${s.arch} (${s.kind}): ${s.description}`,
        `parameters  ${s.params.toLocaleString("en-US")} (trainable ${s.trainable.toLocaleString("en-US")})`,
        `input       ${shape(s.input)}`,
        `MACs        ${human(s.macs.total)} (conv ${human(s.macs.byType.conv)}, conv-transpose ${human(s.macs.byType.convTranspose)}, linear ${human(s.macs.byType.linear)})`,
        ...Object.entries(s.outputs).map(([k, v]) => `output      ${k} ${shape(v)}`),
        ...Object.entries(s.taps).map(([k, v]) => `tap         ${k} ${shape(v)}`),
      ];
      write(`${lines.join("\n")}\n`);
    });
}
