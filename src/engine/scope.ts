/**
 * Deterministic tensor lifetimes.
 *
 * Every tensor created while a scope is open belongs to the innermost scope. When `scope(fn)` returns, every tensor
 * it owns is disposed except those reachable from fn's return value (through arrays, plain objects and Maps), which
 * move to the enclosing scope. `keep(x)` takes tensors out of all scopes: the caller then owns them (dispose them, or
 * declare them with `using`). Tensors created outside any scope are owned by their creator.
 *
 * Nest scopes finely (Module.call opens one per layer) so intermediates are freed as soon as a layer returns;
 * autograd keeps whatever backward needs inside libtorch, independently of these handles.
 */
import { TasksrError } from "../errors.js";

/** Anything a scope can own. */
export interface Owned {
  dispose(): void;
}

const stack: Set<Owned>[] = [];

/** Registers a new object with the innermost open scope (no-op outside scopes). */
export function track(x: Owned): void {
  const top = stack[stack.length - 1];
  if (top !== undefined) top.add(x);
}

function visit(
  value: unknown,
  seen: Set<unknown>,
  onOwned: (x: Owned) => void,
  isOwned: (x: unknown) => boolean,
): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (isOwned(value)) {
    onOwned(value as Owned);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) visit(v, seen, onOwned, isOwned);
  } else if (value instanceof Map) {
    for (const v of value.values()) visit(v, seen, onOwned, isOwned);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      for (const v of Object.values(value)) visit(v, seen, onOwned, isOwned);
    }
  }
}

/**
 * Runs `fn` in a new scope and disposes every tensor it created except those in its result.
 * `fn` must be synchronous: other code running during an await would register its tensors here.
 */
export function scope<T>(fn: () => T): T {
  const own = new Set<Owned>();
  stack.push(own);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const x of own) x.dispose();
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const x of own) x.dispose();
    throw new TasksrError("E_ASYNC_SCOPE", "scope() callbacks must be synchronous; await outside the scope");
  }
  const kept = new Set<Owned>();
  visit(
    result,
    new Set(),
    (x) => kept.add(x),
    (x) => own.has(x as Owned),
  );
  for (const x of own) if (!kept.has(x)) x.dispose();
  const parent = stack[stack.length - 1];
  if (parent !== undefined) for (const x of kept) parent.add(x);
  return result;
}

/** Removes the tensors in `value` from every open scope; the caller owns them from now on. Returns `value`. */
export function keep<T>(value: T): T {
  if (stack.length === 0) return value;
  const all = (x: unknown) => stack.some((s) => s.has(x as Owned));
  visit(
    value,
    new Set(),
    (x) => {
      for (const s of stack) s.delete(x);
    },
    all,
  );
  return value;
}

/** Depth of open scopes (0 outside any scope). */
export const scopeDepth = (): number => stack.length;
