/**
 * Finds the `name → Tensor` state dict inside an unpickled checkpoint. Training scripts wrap it in various ways
 * (`{params, params_ema}` in BasicSR, `{state_dict, optimizer, epoch}`, `{model}`, `{net}`); plain
 * `torch.save(model.state_dict())` files hold it at the top level.
 */
import { TasksrError } from "../../errors.js";
import { Tensor } from "../tensor.js";
import { isPickledObject, PickleGlobal } from "./pickle.js";

/** Keys tried, in this order, when the top level of a checkpoint holds no tensors itself. */
export const STATE_DICT_KEYS: readonly string[] = ["params", "params_ema", "state_dict", "model", "net"];

const MAX_LISTED_KEYS = 30;

const hasTensors = (v: unknown): v is Map<unknown, unknown> =>
  v instanceof Map && [...v.values()].some((x) => x instanceof Tensor);

function listKeys(m: Map<unknown, unknown>): string {
  const keys = [...m.keys()].map((k) => JSON.stringify(String(k)));
  if (keys.length === 0) return "none";
  const shown = keys.slice(0, MAX_LISTED_KEYS).join(", ");
  return keys.length > MAX_LISTED_KEYS ? `${shown}, ... (${keys.length} in all)` : shown;
}

function kindOf(v: unknown): string {
  if (v instanceof Map) return "a dict";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Tensor) return "a tensor";
  if (isPickledObject(v)) return `a ${v.__class__} object`;
  if (v instanceof PickleGlobal) return `a reference to ${v.qualname}`;
  return v === null ? "None" : `a ${typeof v}`;
}

/**
 * The flat state dict in `obj` (a value returned by readPth): the dict under `key` if given; else the top level if it
 * holds tensors; else the first of params, params_ema, state_dict, model, net that holds a dict of tensors.
 * Entries that are not string-keyed tensors (`_metadata`, nested dicts, numbers) are skipped. The tensors are
 * those of `obj`, not copies. `where` names the source (the file path) in errors.
 */
export function extractStateDict(obj: unknown, key?: string, where = "checkpoint"): Map<string, Tensor> {
  const fail = (msg: string): never => {
    throw new TasksrError("E_BAD_FILE", `${where}: ${msg}`);
  };
  if (!(obj instanceof Map)) return fail(`expected a dict of tensors at the top level, found ${kindOf(obj)}`);
  let dict: unknown;
  if (key !== undefined) {
    if (!obj.has(key)) fail(`has no key ${JSON.stringify(key)} (top-level keys: ${listKeys(obj)})`);
    dict = obj.get(key);
    if (!hasTensors(dict)) fail(`${JSON.stringify(key)} holds ${kindOf(dict)} without tensors, not a state dict`);
  } else if (hasTensors(obj)) {
    dict = obj;
  } else {
    const found = STATE_DICT_KEYS.find((k) => hasTensors(obj.get(k)));
    if (found === undefined) {
      fail(
        `no state dict found: the top level holds no tensors and none of ${STATE_DICT_KEYS.join(", ")} holds a dict ` +
          `of tensors (top-level keys: ${listKeys(obj)}); pass the key that holds the weights`,
      );
    }
    dict = obj.get(found);
  }
  const out = new Map<string, Tensor>();
  for (const [k, v] of dict as Map<unknown, unknown>) {
    if (typeof k === "string" && v instanceof Tensor) out.set(k, v);
  }
  return out;
}

/** Every distinct tensor reachable from `value` through dicts, lists, sets and inert objects. */
export function tensorsIn(value: unknown): Set<Tensor> {
  const found = new Set<Tensor>();
  const seen = new Set<unknown>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Tensor) {
      found.add(v);
    } else if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
    } else if (Array.isArray(v) || v instanceof Set) {
      for (const x of v) stack.push(x);
    } else if (isPickledObject(v)) {
      stack.push(v.args, v.kwargs, v.state, v.dictitems, v.listitems);
    }
  }
  return found;
}
