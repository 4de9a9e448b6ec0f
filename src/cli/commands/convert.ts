/** `tasksr convert <format>`: dataset format conversions, and weights files into safetensors with our key layout. */
import type { Command } from "commander";
import { writeVocToCoco } from "../../data/convert/voc2coco.js";
import { classNameList, readClassNames } from "../../data/io/class_names.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerConvert(program: Command): void {
  const convert = program.command("convert").description("convert dataset annotations between formats");
  convert
    .command("voc2coco")
    .description("PASCAL VOC XML -> COCO instances JSON, as SR4IR prepares VOC detection (difficult kept as normal GT)")
    .requiredOption("--root <dir>", "VOC year folder (holds Annotations/ and ImageSets/Main/)")
    .option("--split <name>", "list in ImageSets/Main", "train")
    .requiredOption("--out <file>", "output JSON, e.g. instances_train.json")
    .option("--labels <file>", "class names in id order (text, YAML or JSON); default: the 20 VOC classes")
    .action(async (o: { root: string; split: string; out: string; labels?: string }) => {
      const classes = o.labels === undefined ? undefined : classNameList(await readClassNames(o.labels), o.labels);
      const n = await writeVocToCoco({ root: o.root, split: o.split, out: o.out, ...(classes ? { classes } : {}) });
      console.log(`wrote ${o.out}: ${n.images} images, ${n.annotations} annotations`);
    });
  convert
    .command("weights")
    .description("PyTorch .pth/.pt or safetensors -> safetensors, renaming keys by prefix (drop, strip, rename)")
    .argument("<input>", "weights file")
    .argument("<output>", "output .safetensors file")
    .option("--key <name>", "nested state dict inside the file (e.g. params, state_dict, model)")
    .option("--drop <prefix>", "leave out keys starting with prefix (repeatable)", collect, [])
    .option("--strip <prefix>", "remove a leading prefix, e.g. module. (repeatable)", collect, [])
    .option("--rename <from=to>", "replace a leading prefix, e.g. features.=backbone. (repeatable)", collect, [])
    .option("--arch <name>", "architecture recorded in the metadata (tasksr upscale/eval read it)")
    .option("--scale <s>", "SR scale recorded in the metadata")
    .action(
      async (
        input: string,
        output: string,
        o: { key?: string; drop: string[]; strip: string[]; rename: string[]; arch?: string; scale?: string },
      ) => {
        if (!output.endsWith(".safetensors"))
          throw new TasksrError("E_CLI_ARG", `output ${output}: name it *.safetensors`);
        const { mapKey, parseRename } = await import("../../nn/keymap.js");
        const { readWeightsFile } = await import("../../nn/weights.js");
        const { saveSafetensors } = await import("../../engine/safetensors.js");
        const rules = { drop: o.drop, strip: o.strip, rename: o.rename.map(parseRename) };
        const { tensors } = readWeightsFile(input, o.key);
        try {
          const out = new Map<string, Tensor>();
          for (const [k, t] of tensors) {
            const name = mapKey(k, rules);
            if (name === null) continue;
            if (out.has(name))
              throw new TasksrError("E_CLI_ARG", `two keys of ${input} map to "${name}"; check the rules`);
            out.set(name, t);
          }
          if (out.size === 0) throw new TasksrError("E_CLI_ARG", `every key of ${input} was dropped`);
          const meta: Record<string, string> = {};
          if (o.arch !== undefined) meta.arch = o.arch;
          if (o.scale !== undefined) meta.scale = o.scale;
          saveSafetensors(output, out, meta);
          console.log(`wrote ${output}: ${out.size} of ${tensors.size} tensors`);
        } finally {
          for (const t of tensors.values()) t.dispose();
        }
      },
    );
}
