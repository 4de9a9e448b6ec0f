/**
 * `--plugin <module>` (repeatable) and a config's `plugins:` list: the plug-ins a command loads before it validates
 * its config, so that the tasks, recipes, losses, architectures and datasets they register are known (src/plugins.ts).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";

const collect = (v: string, prev: string[]) => [...prev, v];

export const pluginOption = (cmd: Command): Command =>
  cmd.option(
    "--plugin <module>",
    "load a plug-in that registers tasks, recipes, losses, architectures or datasets (repeatable; docs/extending.md)",
    collect,
    [],
  );

/** The `plugins:` list of a YAML config (`base.plugins:` in a study), or [] when the file has none or is unreadable. */
function configPlugins(file: string): string[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch {
    // The command's own loader reports an unreadable or malformed file with its path.
    return [];
  }
  const of = (o: unknown) => (o !== null && typeof o === "object" ? (o as { plugins?: unknown }).plugins : undefined);
  const list = of(raw) ?? of(of(raw) === undefined ? (raw as { base?: unknown } | null)?.base : undefined);
  return Array.isArray(list) ? list.filter((p): p is string => typeof p === "string") : [];
}

/** Loads the `--plugin` modules (from the working directory), then the config's (from the config's folder). */
export async function loadCommandPlugins(flags: readonly string[], config?: string): Promise<void> {
  const { loadPlugins } = await import("../plugins.js");
  await loadPlugins(flags, { where: "--plugin" });
  if (config !== undefined) {
    await loadPlugins(configPlugins(config), { baseDir: dirname(resolve(config)), where: `${config}: plugins` });
  }
}
