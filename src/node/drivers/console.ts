// A VM's serial console as drivers read it: in runs (a VM started anew writes its console from zero,
// under a new run name) and by byte offsets into a run, so that the agent ships only what is new.

import type { ConsolePlace } from "../../core/protocol.js";

/** What a driver read of a VM's console: `bytes` of run `stream` from `offset`; `size`: the run's length now. */
export interface ConsoleRead {
  stream: string;
  offset: number;
  bytes: Buffer;
  size: number;
}

/** Which bytes of the current run to read after `from`: the rest of the same run, or a new run from its start. */
export function planConsoleRead(run: { stream: string; size: number }, from: ConsolePlace | null, maxBytes: number): { offset: number; length: number } {
  const offset = from !== null && from.stream === run.stream ? from.offset : 0;
  return { offset, length: Math.max(0, Math.min(run.size - offset, maxBytes)) };
}

/** A new run's name: random, so that no later run of the VM (nor of another agent) takes it again. */
export function newConsoleStream(): string {
  // node:crypto is taken when called, not imported: an idle node agent never loads it (3 MB).
  return process.getBuiltinModule("node:crypto").randomBytes(12).toString("base64url");
}
