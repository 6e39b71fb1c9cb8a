// VMs' boot logs: their consoles' bytes as their nodes shipped them, appended a chunk at a time, the
// newest MAX_VM_LOG_BYTES kept. Rows of a VM follow each other; the last says where the log ends.

import { MAX_VM_LOG_BYTES } from "../../core/api.js";
import { bytesToTake } from "../../core/console-chunks.js";
import { MAX_CONSOLE_CHUNK_BYTES, type ConsolePosition } from "../../core/protocol.js";
import type { DbOrTx } from "./db.js";

/** A row holds this much at most: any chunk fits one, and bytes of small chunks are joined into the last row. */
const ROW_BYTES = MAX_CONSOLE_CHUNK_BYTES;

/** Where the logs of the VMs `ids` end (those that have one): where their nodes go on from. */
export async function logPositions(db: DbOrTx, ids: readonly string[]): Promise<ConsolePosition[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("vm_log_chunks as c")
    .innerJoin(
      (eb) => eb.selectFrom("vm_log_chunks").select(["vm_id", (e) => e.fn.max("log_start").as("last")]).where("vm_id", "in", ids).groupBy("vm_id").as("l"),
      (join) => join.onRef("l.vm_id", "=", "c.vm_id").onRef("l.last", "=", "c.log_start"),
    )
    .select(["c.vm_id", "c.stream", "c.stream_end"])
    .execute();
  return rows.map((r) => ({ id: r.vm_id, stream: r.stream, offset: Number(r.stream_end) }));
}

/**
 * Appends what `chunk` adds to VM `vmId`'s log (bytesToTake), then drops the rows wholly older than
 * the newest MAX_VM_LOG_BYTES. Another writer of the same log in between (a replica taking the same
 * retried sync) makes this one write nothing: the row it meant to change or add is not as it read it.
 */
export async function appendToLog(db: DbOrTx, vmId: string, chunk: { stream: string; offset: number; bytes: Buffer }): Promise<void> {
  const last = await db
    .selectFrom("vm_log_chunks")
    .select(["log_start", "log_end", "stream", "stream_end", "data"])
    .where("vm_id", "=", vmId)
    .orderBy("log_start", "desc")
    .limit(1)
    .executeTakeFirst();
  const taken = bytesToTake(last ? { stream: last.stream, offset: Number(last.stream_end) } : null, chunk);
  if (taken === null) return;
  const end = { stream: chunk.stream, stream_end: chunk.offset + chunk.bytes.length };
  const lastStart = last ? Number(last.log_start) : 0;
  const lastEnd = last ? Number(last.log_end) : 0;
  const logEnd = lastEnd + taken.length;
  if (last && last.data.length + taken.length <= ROW_BYTES) {
    await db
      .updateTable("vm_log_chunks")
      .set({ ...end, log_end: logEnd, data: Buffer.concat([last.data, taken]) })
      .where("vm_id", "=", vmId)
      .where("log_start", "=", lastStart)
      .where("log_end", "=", lastEnd)
      .execute();
  } else {
    await db
      .insertInto("vm_log_chunks")
      .values({ vm_id: vmId, ...end, log_start: lastEnd, log_end: logEnd, data: taken })
      .onConflict((oc) => oc.columns(["vm_id", "log_start"]).doNothing())
      .execute();
  }
  await db.deleteFrom("vm_log_chunks").where("vm_id", "=", vmId).where("log_end", "<=", logEnd - MAX_VM_LOG_BYTES).execute();
}

/**
 * The newest MAX_VM_LOG_BYTES of VM `vmId`'s log, as bytes, and whether older ones were dropped (the
 * first byte may then be the middle of a character).
 */
export async function readLog(db: DbOrTx, vmId: string): Promise<{ bytes: Buffer; trimmed: boolean }> {
  const rows = await db.selectFrom("vm_log_chunks").select(["log_start", "data"]).where("vm_id", "=", vmId).orderBy("log_start").execute();
  const all = Buffer.concat(rows.map((r) => r.data));
  const keep = Math.min(all.length, MAX_VM_LOG_BYTES);
  const trimmed = rows.length > 0 && (Number(rows[0]!.log_start) > 0 || keep < all.length);
  return { bytes: all.subarray(all.length - keep), trimmed };
}
