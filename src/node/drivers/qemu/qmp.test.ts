// The QMP client against a real QEMU (`-machine none`: no guest, QMP answers in ~70 ms) and against
// fake servers that misbehave on purpose.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { QmpClient, QmpError, type QmpEvent } from "./qmp.js";

let tmp: string;
const children: ChildProcess[] = [];
const servers: net.Server[] = [];

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "vgrid-qmp-"));
});

after(async () => {
  for (const server of servers) server.close();
  await Promise.all(children.map((child) => killAndReap(child)));
  await rm(tmp, { recursive: true, force: true });
});

async function killAndReap(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

function startQemu(socketPath: string): ChildProcess {
  const child = spawn(
    "qemu-system-x86_64",
    ["-machine", "none", "-display", "none", "-nodefaults", "-qmp", `unix:${socketPath},server=on,wait=off`],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  children.push(child);
  return child;
}

/** QEMU creates the socket shortly after it starts: retry, within a bound. */
async function connectWhenReady(socketPath: string, onEvent?: (e: QmpEvent) => void): Promise<QmpClient> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await QmpClient.connect(socketPath, { timeoutMs: 2_000, onEvent });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

describe("QmpClient against QEMU", () => {
  it("asks QEMU its status", async () => {
    const socketPath = path.join(tmp, "status.sock");
    const qemu = startQemu(socketPath);
    const qmp = await connectWhenReady(socketPath);
    try {
      const status = await qmp.execute<{ status: string; running: boolean }>("query-status");
      assert.equal(status.status, "running");
      assert.equal(status.running, true);
    } finally {
      qmp.close();
      await killAndReap(qemu);
    }
  });

  it("rejects with QEMU's error class for an unknown command, and stays usable", async () => {
    const socketPath = path.join(tmp, "error.sock");
    const qemu = startQemu(socketPath);
    const qmp = await connectWhenReady(socketPath);
    try {
      await assert.rejects(qmp.execute("no-such-command"), (err: unknown) => {
        assert.ok(err instanceof QmpError);
        assert.equal(err.errorClass, "CommandNotFound");
        assert.match(err.message, /no-such-command/);
        return true;
      });
      await assert.rejects(qmp.execute("query-status", { bogus: 1 }), QmpError);
      const status = await qmp.execute<{ running: boolean }>("query-status");
      assert.equal(status.running, true);
    } finally {
      qmp.close();
      await killAndReap(qemu);
    }
  });

  it("passes events aside and ends QEMU with quit", async () => {
    const socketPath = path.join(tmp, "quit.sock");
    const qemu = startQemu(socketPath);
    const exited = new Promise<number | null>((resolve) => qemu.once("exit", (code) => resolve(code)));
    const events: string[] = [];
    const qmp = await connectWhenReady(socketPath, (e) => events.push(e.event));
    try {
      await qmp.execute("stop");
      const status = await qmp.execute<{ status: string }>("query-status");
      assert.equal(status.status, "paused");
      await qmp.execute("quit");
      assert.equal(await exited, 0);
      assert.ok(events.includes("STOP"), `events: ${events.join(", ")}`);
      await assert.rejects(qmp.execute("query-status"), /QMP socket/);
      assert.equal(qmp.isOpen(), false);
    } finally {
      qmp.close();
      await killAndReap(qemu);
    }
  });
});

describe("QmpClient against servers that do not answer", () => {
  async function listen(name: string, onConnection: (socket: net.Socket) => void): Promise<string> {
    const socketPath = path.join(tmp, name);
    const server = net.createServer(onConnection);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return socketPath;
  }

  it("gives up when the socket never greets", async () => {
    const socketPath = await listen("silent.sock", () => {});
    const started = Date.now();
    await assert.rejects(QmpClient.connect(socketPath, { timeoutMs: 300 }), /no greeting within 300 ms/);
    assert.ok(Date.now() - started < 5_000);
  });

  it("gives up on a command nobody answers", async () => {
    const socketPath = await listen("deaf.sock", (socket) => {
      socket.write('{"QMP": {"version": {}, "capabilities": []}}\r\n');
      socket.once("data", (line) => {
        const { id } = JSON.parse(line.toString()) as { id: string };
        socket.write(`{"return": {}, "id": ${JSON.stringify(id)}}\r\n`);
      });
    });
    const qmp = await QmpClient.connect(socketPath, { timeoutMs: 1_000 });
    try {
      await assert.rejects(qmp.execute("query-status", undefined, 200), /query-status .* no answer within 200 ms/);
    } finally {
      qmp.close();
    }
  });

  it("gives up at once when its signal aborts, on connect and on a command, and stays usable", async () => {
    const silent = await listen("silent-abort.sock", () => {});
    const stopping = new AbortController();
    const connecting = QmpClient.connect(silent, { timeoutMs: 60_000, signal: stopping.signal });
    stopping.abort();
    await assert.rejects(connecting, { name: "AbortError" });

    const socketPath = await listen("deaf-abort.sock", (socket) => {
      socket.write('{"QMP": {"version": {}, "capabilities": []}}\r\n');
      socket.on("data", (chunk) => {
        for (const line of chunk.toString().split("\n").filter((l) => l.trim())) {
          const { id, execute } = JSON.parse(line) as { id: string; execute: string };
          // Deaf to query-status only: the session must still serve the next command.
          if (execute !== "query-status") socket.write(`{"return": {}, "id": ${JSON.stringify(id)}}\r\n`);
        }
      });
    });
    const qmp = await QmpClient.connect(socketPath, { timeoutMs: 1_000 });
    try {
      const abort = new AbortController();
      const asking = qmp.execute("query-status", undefined, 60_000, abort.signal);
      abort.abort();
      await assert.rejects(asking, { name: "AbortError" });
      await assert.rejects(qmp.execute("query-status", undefined, 60_000, abort.signal), { name: "AbortError" });
      assert.equal(qmp.isOpen(), true);
      assert.deepEqual(await qmp.execute("stop"), {});
    } finally {
      qmp.close();
    }
  });

  it("fails at once when there is no socket", async () => {
    await assert.rejects(QmpClient.connect(path.join(tmp, "absent.sock"), { timeoutMs: 2_000 }), /ENOENT/);
  });
});
