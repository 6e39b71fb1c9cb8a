// restartOnCrash's bound: a VM whose QEMU died is booted again at most MAX_CRASH_RESTARTS times in
// CRASH_WINDOW_MS (the seed's on_crash = 'restart', without its endless loop for a guest that dies at
// every boot). Pure: the agent keeps each VM's restart times and asks here what to do at a crash.

export const MAX_CRASH_RESTARTS = 3;
export const CRASH_WINDOW_MS = 3600_000;

export type CrashVerdict =
  /** Boot it again; `times` are the restarts in the window, this one included; `words` say so to its owner. */
  | { restart: true; times: number[]; words: string }
  /** Fail it, in these words. */
  | { restart: false; error: string };

/** What to do at a crash at `now`, given the times of the VM's earlier restarts and why it crashed. */
export function crashVerdict(earlier: readonly number[], now: number, error: string): CrashVerdict {
  const times = earlier.filter((at) => now - at < CRASH_WINDOW_MS);
  if (times.length >= MAX_CRASH_RESTARTS) {
    return {
      restart: false,
      error:
        `the VM crashed too often: ${MAX_CRASH_RESTARTS + 1} times within an hour, and its image restarts it at most ` +
        `${MAX_CRASH_RESTARTS} times an hour (restartOnCrash); the last time: ${error}`,
    };
  }
  times.push(now);
  // The time makes each restart's words its own: the server writes a history row for each new one.
  const words =
    `restarted at ${new Date(now).toISOString()} after a crash (restart ${times.length} of at most ` +
    `${MAX_CRASH_RESTARTS} an hour): ${error}`;
  return { restart: true, times, words };
}
