import assert from "node:assert/strict";
import net from "node:net";
import { after, test } from "node:test";
import { probeSshBanner, sshProbeAddress } from "./liveness.js";

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

after(async () => {
  // A server closes once its connections end: a silent server's connections are ended here.
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A TCP server on 127.0.0.1 that greets every connection with `greeting` (nothing if undefined). */
async function listen(greeting: string | undefined): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    if (greeting !== undefined) socket.write(greeting);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("an ssh banner is what makes a guest responding, not a TCP connect", async () => {
  const rows: Array<[string, () => Promise<number>, boolean]> = [
    // QEMU user networking accepts on the forwarded port before the guest's sshd listens.
    ["accepts but sends nothing", () => listen(undefined), false],
    ["sends an ssh banner", () => listen("SSH-2.0-x\r\n"), true],
    ["sends other lines before the banner (RFC 4253 4.2)", () => listen("hello\r\nSSH-2.0-x\r\n"), true],
    ["sends something that is not ssh", () => listen("HTTP/1.1 400 Bad Request\r\n"), false],
    ["has nothing listening", closedPort, false],
  ];
  for (const [what, serve, expected] of rows) {
    const port = await serve();
    // A generous bound: a starved test process must not turn a banner into a timeout.
    assert.equal(await probeSshBanner("127.0.0.1", port, expected ? 5000 : 500), expected, what);
  }
});

test("a probe ends with false as soon as its signal aborts", async () => {
  const port = await listen(undefined);
  const abort = new AbortController();
  const probing = probeSshBanner("127.0.0.1", port, 60_000, abort.signal);
  abort.abort();
  assert.equal(await probing, false);
  assert.equal(await probeSshBanner("127.0.0.1", port, 60_000, abort.signal), false, "an aborted signal probes nothing");
});

test("the agent probes where QEMU listens, or loopback when it listens everywhere", () => {
  const rows: Array<[string, string]> = [
    ["127.0.0.1", "127.0.0.1"],
    ["10.0.0.5", "10.0.0.5"],
    ["0.0.0.0", "127.0.0.1"],
    ["::", "::1"],
  ];
  for (const [bind, expected] of rows) assert.equal(sshProbeAddress(bind), expected, bind);
});
