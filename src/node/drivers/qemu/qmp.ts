// A small client of QEMU's QMP: JSON lines over the VM's unix socket. No kept npm package exists.
// Protocol: https://www.qemu.org/docs/master/interop/qmp-spec.html

import net from "node:net";

/** A QMP command QEMU answered with an error (`{"error": {"class", "desc"}}`). */
export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
  }
}

/** An asynchronous QMP event (SHUTDOWN, STOP, RESUME, ...). */
export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpConnectOptions {
  /** Bound on connect + greeting + capabilities negotiation. */
  timeoutMs?: number;
  onEvent?: (event: QmpEvent) => void;
  /** Gives up at once when it aborts (an agent shutting down does not wait for a silent QEMU). */
  signal?: AbortSignal;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
/** A QMP line longer than this is not QEMU talking: drop the connection rather than buffer forever. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** One QMP session, in command mode once `connect` resolves. */
export class QmpClient {
  private buffer = "";
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closedError: Error | undefined;
  private greetingWaiter: ((greeting: unknown) => void) | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly socketPath: string,
    private readonly onEvent: ((event: QmpEvent) => void) | undefined,
  ) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.receive(chunk));
    socket.on("error", (err) => this.fail(new Error(`QMP socket ${socketPath}: ${err.message}`)));
    socket.on("close", () => this.fail(new Error(`QMP socket ${socketPath} closed`)));
  }

  /** Connects, reads QEMU's greeting and leaves capabilities negotiation, all within `timeoutMs`. */
  static async connect(socketPath: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    opts.signal?.throwIfAborted();
    const socket = net.createConnection({ path: socketPath });
    const client = new QmpClient(socket, socketPath, opts.onEvent);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`QMP socket ${socketPath}: no greeting within ${timeoutMs} ms`)),
        timeoutMs,
      );
      onAbort = () => reject(opts.signal?.reason as Error);
      opts.signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([client.handshake(timeoutMs), deadline]);
      return client;
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  private async handshake(timeoutMs: number): Promise<void> {
    const greeting = await new Promise<unknown>((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      this.greetingWaiter = resolve;
      this.socket.once("close", () => reject(this.closedError ?? new Error("QMP socket closed")));
    });
    if (typeof greeting !== "object" || greeting === null || !("QMP" in greeting)) {
      throw new Error(`QMP socket ${this.socketPath}: unexpected greeting ${JSON.stringify(greeting).slice(0, 200)}`);
    }
    await this.execute("qmp_capabilities", undefined, timeoutMs);
  }

  /**
   * Runs one command; resolves with its `return` value, rejects with QmpError, on timeout, or when
   * `signal` aborts (the session stays usable: a late answer is dropped like a timed-out one).
   */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
    signal?: AbortSignal,
  ): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const id = `vgrid-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        this.pending.delete(id);
        signal?.removeEventListener("abort", onAbort);
        reject(new Error(`QMP ${command} on ${this.socketPath}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      const settle = <A extends unknown[]>(fn: (...a: A) => void) => (...a: A) => {
        signal?.removeEventListener("abort", onAbort);
        fn(...a);
      };
      this.pending.set(id, { command, resolve: settle(resolve as (v: unknown) => void), reject: settle(reject), timer });
      const message = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Closes the connection; commands still waiting are rejected. QEMU keeps running. */
  close(): void {
    this.fail(new Error(`QMP socket ${this.socketPath} closed by us`));
    this.socket.destroy();
  }

  /** Whether the connection is still usable. */
  isOpen(): boolean {
    return this.closedError === undefined;
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line.length > 0) this.dispatch(line);
    }
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.fail(new Error(`QMP socket ${this.socketPath}: line longer than ${MAX_LINE_BYTES} bytes`));
      this.socket.destroy();
    }
  }

  private dispatch(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.fail(new Error(`QMP socket ${this.socketPath}: not JSON: ${line.slice(0, 200)}`));
      this.socket.destroy();
      return;
    }
    if (typeof message !== "object" || message === null) return;
    const record = message as Record<string, unknown>;
    if ("QMP" in record) {
      this.greetingWaiter?.(record);
      this.greetingWaiter = undefined;
      return;
    }
    if (typeof record.event === "string") {
      this.onEvent?.(record as unknown as QmpEvent);
      return;
    }
    const pending = typeof record.id === "string" ? this.pending.get(record.id) : undefined;
    if (pending === undefined) return; // an answer to a command that already timed out
    this.pending.delete(record.id as string);
    clearTimeout(pending.timer);
    if ("return" in record) {
      pending.resolve(record.return);
    } else {
      const error = (record.error ?? {}) as { class?: unknown; desc?: unknown };
      const errorClass = typeof error.class === "string" ? error.class : "GenericError";
      pending.reject(new QmpError(pending.command, errorClass, typeof error.desc === "string" ? error.desc : ""));
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
    this.pending.clear();
  }
}
