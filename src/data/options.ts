/**
 * Validation of option objects (dataset and degradation configs) with zod: every problem is reported at once, each
 * with its path (`data.train.split`), as one E_CONFIG error.
 */
import type { z } from "zod";
import { TasksrError } from "../errors.js";

function pathOf(where: string, path: readonly PropertyKey[]): string {
  let out = where;
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(top level)" : out;
}

/** Formats zod issues as `where.path: message` lines. */
export function describeIssues(where: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .flatMap((issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((k) => `${pathOf(where, [...issue.path, k])}: unknown key`)
        : [`${pathOf(where, issue.path)}: ${issue.message}`],
    )
    .join("; ");
}

/** Parses `value` with `schema`; fails with E_CONFIG listing every problem with its path under `where`. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new TasksrError("E_CONFIG", `invalid options: ${describeIssues(where, r.error.issues)}`);
  return r.data;
}
