// One QMP session per VM, kept open between calls: QEMU serves one QMP client at a time, so a
// connection per call would queue behind a stale one. A session that breaks is dropped and made again.

import { abortable } from "../../abortable.js";
import { QmpClient, QmpError } from "./qmp.js";

export interface QmpStatus {
  status: string;
  running: boolean;
}

/** QMP answers within milliseconds when QEMU is healthy; a longer wait only delays the verdict. */
const QMP_CONNECT_TIMEOUT_MS = 1_000;
const QMP_COMMAND_TIMEOUT_MS = 3_000;

export class QmpSessions {
  private readonly sessions = new Map<string, Promise<QmpClient>>();

  constructor(private readonly log: (msg: string, fields?: Record<string, unknown>) => void) {}

  /** QEMU's run state of VM `id` (`query-status`); rejects when QEMU does not answer in time. */
  async queryStatus(id: string, socket: string, signal: AbortSignal): Promise<QmpStatus> {
    const qmp = await this.session(id, socket, signal);
    try {
      return await qmp.execute<QmpStatus>("query-status", undefined, QMP_COMMAND_TIMEOUT_MS, signal);
    } catch (err) {
      // A session that timed out may hold QEMU's only QMP slot with a half-read answer: start afresh.
      if (!(err instanceof QmpError) && !signal.aborted) await this.close(id);
      throw err;
    }
  }

  /** Sends a command whose answer does not matter; false if QEMU could not be asked at all. */
  async tryCommand(id: string, socket: string, command: string, signal: AbortSignal): Promise<boolean> {
    try {
      const qmp = await this.session(id, socket, signal);
      await qmp.execute(command, undefined, QMP_COMMAND_TIMEOUT_MS, signal);
      return true;
    } catch (err) {
      signal.throwIfAborted();
      this.log(`qmp ${command} failed`, { vm: id, error: err instanceof Error ? err.message : String(err) });
      return false;
    }
  }

  async close(id: string): Promise<void> {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    (await session?.catch(() => undefined))?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }

  /** The open session of VM `id`, or a new one; the caller's signal ends only the caller's wait. */
  private async session(id: string, socket: string, signal: AbortSignal): Promise<QmpClient> {
    const kept = this.sessions.get(id);
    if (kept !== undefined) {
      const client = await abortable(kept, signal).catch(() => undefined);
      signal.throwIfAborted();
      if (client?.isOpen() === true) return client;
      if (this.sessions.get(id) === kept) this.sessions.delete(id);
    }
    // Not tied to the caller's signal: another caller may share it; its own timeout bounds it.
    const connecting = QmpClient.connect(socket, { timeoutMs: QMP_CONNECT_TIMEOUT_MS });
    this.sessions.set(id, connecting);
    connecting.catch(() => {
      if (this.sessions.get(id) === connecting) this.sessions.delete(id);
    });
    return abortable(connecting, signal);
  }
}
