// Whether a VM's guest answers: an ssh banner read, not a TCP connect, because QEMU user networking
// accepts connections on the forwarded port long before (or without) a guest listening behind it.

import net from "node:net";

/** The longest banner line RFC 4253 allows (255) plus room for lines an sshd may send before it. */
const MAX_BANNER_BYTES = 4096;

/**
 * True only when the peer sends a line starting with `SSH-` within `timeoutMs`; false at once when
 * `signal` aborts (an agent shutting down does not wait for a silent port). Never throws.
 */
export function probeSshBanner(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve(false);
      return;
    }
    const socket = net.createConnection({ host, port });
    let received = "";
    let settled = false;
    const finish = (answer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(answer);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    signal?.addEventListener("abort", onAbort);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      // RFC 4253 4.2: a server may send other lines before the version line; each ends with LF.
      for (const line of received.split("\n").slice(0, -1)) {
        if (line.startsWith("SSH-")) return finish(true);
      }
      if (received.length > MAX_BANNER_BYTES) finish(false);
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
  });
}

/**
 * Where the agent reaches a forwarded ssh port on its own node: the address QEMU listens on, or the
 * loopback address when it listens on every address (a wildcard is not something to connect to).
 */
export function sshProbeAddress(sshBind: string): string {
  if (sshBind === "0.0.0.0") return "127.0.0.1";
  if (sshBind === "::") return "::1";
  return sshBind;
}
