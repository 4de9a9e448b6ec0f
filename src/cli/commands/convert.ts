/** `tasksr convert <format>`: dataset format conversions. */
import type { Command } from "commander";
import { writeVocToCoco } from "../../data/convert/voc2coco.js";
import { classNameList, readClassNames } from "../../data/io/class_names.js";

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
}
