/**
 * Ctrl-C and SIGTERM for long commands: the first SIGINT or SIGTERM aborts the signal given to `fn` (training stops
 * at its next step and saves a checkpoint, tiled inference after its current tile), printing `message` when given;
 * a second one exits at once (status 130 for SIGINT, 143 for SIGTERM). The handlers are removed when `fn` settles.
 * SIGTERM is what supervisors and the `tasksr` launcher send to stop a run; treating it like Ctrl-C keeps the
 * checkpoint instead of losing the work since the last epoch.
 */
const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>, message?: string): Promise<T> {
  const ac = new AbortController();
  const handlers = Object.entries(STOP_SIGNALS).map(([sig, status]) => {
    const handler = () => {
      if (ac.signal.aborted) process.exit(status);
      if (message) console.error(`\ntasksr: ${message}`);
      ac.abort();
    };
    process.on(sig, handler);
    return () => process.off(sig, handler);
  });
  try {
    return await fn(ac.signal);
  } finally {
    for (const off of handlers) off();
  }
}

/** What the training commands print on the first Ctrl-C. */
export const STOP_TRAINING = "stopping after this step and saving a checkpoint (Ctrl-C again to quit at once)";
