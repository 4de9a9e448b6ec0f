/** Loading a study file: YAML → `--set` overrides → zod validation (errors name the file and the field path). */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { applyOverride, formatIssues } from "../config/load.js";
import { TasksrError } from "../errors.js";
import { StudyConfig } from "./schema.js";

export function validateStudy(raw: unknown, where: string): StudyConfig {
  const parsed = StudyConfig.safeParse(raw);
  if (!parsed.success) throw new TasksrError("E_CONFIG", `invalid study\n${formatIssues(where, parsed.error.issues)}`);
  return parsed.data;
}

export function loadStudy(path: string, sets: readonly string[] = []): StudyConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read study ${path}: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new TasksrError("E_CONFIG", `${path}: the study must be a YAML mapping`);
  }
  for (const s of sets) applyOverride(raw as Record<string, unknown>, s);
  return validateStudy(raw, path);
}
