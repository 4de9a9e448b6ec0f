/**
 * Renaming the keys of a state dict by prefix, to store third-party weights in the layout a tasksr network loads by
 * name: strip DataParallel's `module.` (DBPN-Pytorch releases), map an ImageNet backbone's `features.` onto a
 * segmenter's `backbone.`, drop a classifier head. Rules apply in order: drop, then strip, then rename.
 */
import { TasksrError } from "../errors.js";

export interface KeyRules {
  /** Keys starting with any of these are left out. */
  drop?: readonly string[];
  /** A leading prefix removed from every key that has it. */
  strip?: readonly string[];
  /** [from, to]: a key starting with `from` gets `to` instead (first matching rule wins). */
  rename?: readonly (readonly [string, string])[];
}

/** The new name of `key`, or null when it is dropped. */
export function mapKey(key: string, rules: KeyRules): string | null {
  if (rules.drop?.some((p) => key.startsWith(p))) return null;
  let k = key;
  for (const p of rules.strip ?? []) if (k.startsWith(p)) k = k.slice(p.length);
  const r = rules.rename?.find(([from]) => k.startsWith(from));
  return r ? r[1] + k.slice(r[0].length) : k;
}

/** Parses a `--rename from=to` argument. */
export function parseRename(arg: string): [string, string] {
  const eq = arg.indexOf("=");
  if (eq <= 0) throw new TasksrError("E_CLI_ARG", `--rename expects from=to (key prefixes), got "${arg}"`);
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}
