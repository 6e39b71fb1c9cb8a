// The node protocol's long-poll: a sync that changed nothing and finds the node up to date waits until
// what should run on its host changes (or the node's wait ends), then answers with the desired state.

import { VgridError } from "../../core/errors.js";
import type { SyncRequest, SyncResponse } from "../../core/protocol.js";
import type { ServerContext } from "../context.js";
import { markSeen } from "../store/hosts.js";
import { answerTo, applySync, desiredFor, requireOwnHost } from "./sync.js";

/**
 * One sync of node `req.node`, whose secret proved it is `host`'s. `gone` aborts when the node hangs up
 * (it gave up, or died): a node that is not there must not keep a listener waiting.
 */
export async function syncNode(ctx: ServerContext, req: SyncRequest, host: string, gone: AbortSignal): Promise<SyncResponse> {
  try {
    requireOwnHost(host, req);
  } catch (err) {
    ctx.log.warn({ node: host, claimed: req.node }, `node ${host} tried to sync as ${req.node}: refused`);
    throw err;
  }
  ctx.metrics.nodeSyncs.inc();
  const changed = await applySync(ctx, req);
  // Listen before reading: a change between the read and the wait would otherwise sleep until the
  // wait ends (up to waitSeconds) instead of waking this node at once.
  const watch = ctx.hub.watchHost(req.node);
  try {
    const desired = await desiredFor(ctx.db, req.node);
    if (changed.length > 0 || desired.version !== req.version || req.waitSeconds === 0) return await answerTo(ctx.db, req, desired);
    await watch.wait(req.waitSeconds * 1000, gone);
    if (ctx.hub.closing) throw new VgridError("shutting-down", "the server is shutting down; the node retries on its own");
    // A node that hung up hears nothing: no store work for it (thousands may leave at once).
    if (gone.aborted) return desired;
    // The node was online all along: it was waiting on us.
    await markSeen(ctx.db, req.node, ctx.now());
    return await answerTo(ctx.db, req, await desiredFor(ctx.db, req.node));
  } finally {
    watch.cancel();
  }
}
