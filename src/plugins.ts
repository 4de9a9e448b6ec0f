/**
 * Plug-ins: modules that add tasks, recipes, losses, architectures or datasets through the exported registries
 * (`defineTask`, `defineRecipe`, `definePixelLoss`, `defineArch`, `defineDataset`; docs/extending.md). A plug-in
 * registers on import. Data worker threads never load the engine, so a plug-in whose datasets or task data side a
 * loader's workers need exports `workerModule`: the URL (or a path relative to the plug-in) of an engine-free module
 * that registers those, which every worker imports before it opens the dataset.
 *
 * ```ts
 * // my-task.js
 * import { defineTask } from "tasksr";
 * export const workerModule = new URL("./my-task-data.js", import.meta.url).href;
 * defineTask({ ... });
 * ```
 * `tasksr train --plugin ./my-task.js --config c.yaml`, or `plugins: [./my-task.js]` in the config.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TasksrError } from "./errors.js";

/** Loaded plug-ins by URL, and the worker modules they named. */
const loaded = new Map<string, string | undefined>();

/** The URL of plug-in `spec`: a path (relative to `baseDir`) or a package name resolved from `baseDir`. */
function pluginUrl(spec: string, baseDir: string, where: string): string {
  // A path, or a file that exists relative to baseDir (`examples/x/plugin.js`); otherwise a package name.
  const local = spec.startsWith(".") || isAbsolute(spec) || existsSync(resolve(baseDir, spec));
  if (local) {
    const path = resolve(baseDir, spec);
    if (!existsSync(path)) throw new TasksrError("E_CLI_ARG", `${where}: plug-in ${spec}: no file ${path}`);
    return pathToFileURL(path).href;
  }
  try {
    return pathToFileURL(createRequire(resolve(baseDir, "package.json")).resolve(spec)).href;
  } catch (err) {
    throw new TasksrError("E_CLI_ARG", `${where}: plug-in ${spec}: ${(err as Error).message.split("\n")[0]}`);
  }
}

/**
 * Imports each plug-in once (paths relative to `baseDir`, default the working directory); `where` names the flag or
 * config field in errors. A plug-in that fails to load is one E_PLUGIN error naming it and its error.
 */
export async function loadPlugins(specs: readonly string[], o: { baseDir?: string; where: string }): Promise<void> {
  for (const spec of specs) {
    const url = pluginUrl(spec, o.baseDir ?? process.cwd(), o.where);
    if (loaded.has(url)) continue;
    let m: { workerModule?: unknown };
    try {
      m = await import(url);
    } catch (err) {
      if (err instanceof TasksrError) {
        throw new TasksrError(err.code, `${o.where}: plug-in ${spec}: ${err.message}`, { cause: err });
      }
      throw new TasksrError("E_PLUGIN", `${o.where}: plug-in ${spec} failed to load: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const w = m.workerModule;
    if (w !== undefined && typeof w !== "string") {
      throw new TasksrError("E_PLUGIN", `${o.where}: plug-in ${spec}: workerModule must be a URL or path string`);
    }
    loaded.set(url, w === undefined ? undefined : new URL(w, url).href);
  }
}

/** The worker modules of the loaded plug-ins, in load order. */
export const workerModules = (): string[] => [...loaded.values()].filter((w): w is string => w !== undefined);
