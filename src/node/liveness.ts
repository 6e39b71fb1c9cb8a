// Whether a VM's guest answers: an ssh banner read, not a TCP connect, because QEMU user networking
// accepts connections on the forwarded port long before (or without) a guest listening behind it.

import net from "node:net";

/** The longest banner line RFC 4253 allows (255) plus room for lines an sshd may send before it. */
const MAX_BANNER_BYTES = 4096;

/** True only when the peer sends a line starting with `SSH-` within `timeoutMs`. Never throws. */
export function probeSshBanner(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host, port });
    let received = "";
    let settled = false;
    const finish = (answer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
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
