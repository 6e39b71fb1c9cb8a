// How the server takes a node's console chunk into a VM's log: only what follows the log's end, so
// that a sync sent twice (its answer lost) never doubles text and a chunk past a gap never loses any.

import type { ConsolePlace } from "./protocol.js";

/**
 * The bytes of a chunk (bytes `offset` onwards of run `stream`) that extend a log ending at `end`
 * (the run it heard last and how far into it; null: an empty log); null when it adds nothing.
 * - the same run: the part past the log's end; nothing if the log has it all already, or if the chunk
 *   starts past the end (a gap: the node hears where the log ends and sends from there);
 * - another run (the VM started anew, its console written from zero): the chunk only if it is the
 *   run's start, so that a run is never taken from its middle.
 */
export function bytesToTake(end: ConsolePlace | null, chunk: { stream: string; offset: number; bytes: Buffer }): Buffer | null {
  if (end === null || end.stream !== chunk.stream) return chunk.offset === 0 && chunk.bytes.length > 0 ? chunk.bytes : null;
  if (chunk.offset > end.offset) return null;
  const known = end.offset - chunk.offset;
  return known >= chunk.bytes.length ? null : chunk.bytes.subarray(known);
}
