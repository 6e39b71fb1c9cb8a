import assert from "node:assert/strict";
import { test } from "node:test";

import { bytesToTake } from "../core/console-chunks.js";
import { MAX_CONSOLE_BYTES_PER_SYNC, MAX_CONSOLE_CHUNK_BYTES, type ConsoleChunk, type SyncResponse, type VmSpec } from "../core/protocol.js";
import { ConsoleShipper } from "./console-shipper.js";
import { SimDriver } from "./drivers/sim/driver.js";
import { ManualClock } from "./manual-clock.js";

const never = new AbortController().signal;

/** The server's side as the protocol has it: each log takes what a chunk adds, and the answer says where each ends. */
function serverLogs() {
  const logs = new Map<string, { stream: string; offset: number; text: Buffer }>();
  return {
    logs,
    take(chunks: ConsoleChunk[], listed: string[]): SyncResponse {
      for (const chunk of chunks) {
        const log = logs.get(chunk.id);
        const taken = bytesToTake(log ?? null, { stream: chunk.stream, offset: chunk.offset, bytes: Buffer.from(chunk.data, "base64") });
        if (taken === null) continue;
        logs.set(chunk.id, { stream: chunk.stream, offset: chunk.offset + Buffer.from(chunk.data, "base64").length, text: Buffer.concat([log?.text ?? Buffer.alloc(0), taken]) });
      }
      const consoles = listed.filter((id) => logs.has(id)).map((id) => ({ id, stream: logs.get(id)!.stream, offset: logs.get(id)!.offset }));
      return { version: 1, vms: listed.map((id) => ({ id }) as VmSpec), consoles };
    },
  };
}

function shipperOn(driver: SimDriver, opts: { clock?: ManualClock; watched?: () => string[]; isLongPolling?: () => boolean; wake?: () => void } = {}) {
  return new ConsoleShipper({
    driver,
    clock: opts.clock ?? new ManualClock(),
    watched: opts.watched ?? (() => []),
    isLongPolling: opts.isLongPolling ?? (() => false),
    wake: opts.wake ?? (() => {}),
    log: () => {},
    signal: never,
  });
}

test("a chatty guest gets a bounded chunk a sync, all VMs a turn, and every byte arrives once, in order", async () => {
  const driver = new SimDriver();
  const ids = ["a", "b", "c", "d", "e", "f"];
  const printed = new Map(ids.map((id, i) => [id, Buffer.from(`${id}:`.padEnd(100 * 1024 + i * 1000, id) + "\n")]));
  for (const [id, text] of printed) driver.printOnConsole(id, text);
  const shipper = shipperOn(driver);
  const server = serverLogs();
  shipper.take(server.take([], ids));
  let syncs = 0;
  for (;;) {
    const chunks = await shipper.chunks(ids);
    if (chunks.length === 0) break;
    syncs++;
    const sizes = chunks.map((c) => Buffer.from(c.data, "base64").length);
    assert.ok(sizes.every((n) => n <= MAX_CONSOLE_CHUNK_BYTES), `a chunk per VM, bounded: ${sizes.join(", ")}`);
    assert.ok(sizes.reduce((a, b) => a + b, 0) <= MAX_CONSOLE_BYTES_PER_SYNC, "the sync's console bytes, bounded");
    assert.equal(new Set(chunks.map((c) => c.id)).size, chunks.length, "one chunk per VM");
    const answer = server.take(chunks, ids);
    // The third sync's answer is lost: the next sends from the same positions, and is taken once.
    if (syncs !== 3) shipper.take(answer);
    assert.ok(syncs < 50, "it ends");
  }
  for (const [id, text] of printed) assert.ok(server.logs.get(id)?.text.equals(text), `VM ${id}'s console arrived whole, once`);
  assert.ok(syncs >= Math.ceil((6 * 100 * 1024) / MAX_CONSOLE_BYTES_PER_SYNC), `${syncs} syncs`);
});

test("a VM started again ships its new run from its start; a restarted agent goes on from the server's position", async () => {
  const driver = new SimDriver();
  const spec = { id: "vm", hostname: "vm-001", memoryMiB: 256, cpus: 1, image: { tag: "tiny" } } as VmSpec;
  await driver.create(spec, never);
  await driver.start(spec, never);
  driver.printOnConsole("vm", "Linux version 6.1 (first boot)\n");
  const server = serverLogs();
  const first = shipperOn(driver);
  first.take(server.take([], ["vm"]));
  first.take(server.take(await first.chunks(["vm"]), ["vm"]));
  assert.deepEqual(await first.chunks(["vm"]), [], "nothing new");

  // The agent restarts: a new shipper knows nothing until the server's answer says where the log ends.
  driver.printOnConsole("vm", "login: ");
  const next = shipperOn(driver);
  next.take(server.take([], ["vm"]));
  const [more] = await next.chunks(["vm"]);
  assert.equal(Buffer.from(more!.data, "base64").toString(), "login: ", "only what the server does not have");
  next.take(server.take([more!], ["vm"]));

  await driver.stop("vm", never);
  await driver.start(spec, never);
  driver.printOnConsole("vm", "Linux version 6.1 (second boot)\n");
  const [fresh] = await next.chunks(["vm"]);
  assert.equal(fresh!.offset, 0, "the new run from its start");
  next.take(server.take([fresh!], ["vm"]));
  const log = server.logs.get("vm")!.text.toString();
  assert.equal(log.match(/Linux version/g)?.length, 2, log);
  assert.equal(log.match(/login: /g)?.length, 1, log);
  assert.match(log, /this console is simulated/, "the sim driver says what its console is");

  next.take({ version: 2, vms: [], consoles: [] });
  const [unknown] = await next.chunks(["vm"]);
  assert.equal(unknown?.offset, 0, "a VM the server no longer lists is known no more");
});

test("while the loop long-polls, a running VM's console that grew wakes it; one that did not, never", async () => {
  const clock = new ManualClock();
  const driver = new SimDriver();
  driver.printOnConsole("vm", "boot\n");
  let wakes = 0;
  let polling = true;
  const shipper = shipperOn(driver, { clock, watched: () => ["vm"], isLongPolling: () => polling, wake: () => wakes++ });
  shipper.start();
  shipper.take({ version: 1, vms: [{ id: "vm" } as VmSpec], consoles: [{ id: "vm", stream: driver.consoles.get("vm")!.stream, offset: 5 }] });
  await clock.advance(10_000);
  assert.equal(wakes, 0, "nothing new");
  driver.printOnConsole("vm", "more\n");
  polling = false;
  await clock.advance(10_000);
  assert.equal(wakes, 0, "not while a sync is on its way: it carries the bytes");
  polling = true;
  await clock.advance(2_000);
  assert.equal(wakes, 1, "woken within a look's interval");
  shipper.stop();
  await shipper.drain();
  assert.equal(clock.timers, 0, "a stopped shipper leaves no timer");
});
