/**
 * Ctrl-C for long commands: the first SIGINT aborts the signal given to `fn` (training stops at its next step and
 * saves a checkpoint, tiled inference after its current tile), printing `message` when given; a second one exits at
 * once with status 130. The handler is removed when `fn` settles.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>, message?: string): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    if (message) console.error(`\ntasksr: ${message}`);
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    return await fn(ac.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** What the training commands print on the first Ctrl-C. */
export const STOP_TRAINING = "stopping after this step and saving a checkpoint (Ctrl-C again to quit at once)";
