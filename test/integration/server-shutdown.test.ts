// `vgrid server` as an operator runs it: its log has one line per meaningful event (a node coming
// online), not one per long-poll; Ctrl-C ends it at once, answering a node's open long-poll with a 503
// problem that says why, so that the node retries.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { Hopeless, eventually } from "../support/processes.js";
import { cleanUp, startVgrid, tempDir, type VgridProcess } from "../support/vgrid.js";

const SECRET = "shutdown-test-node-secret-0123456789";
let dir: string;
let url: string;
let server: VgridProcess | undefined;

before(async () => {
  dir = await tempDir("shutdown");
  const port = await pickFreePort("127.0.0.1");
  url = `http://127.0.0.1:${port}`;
  await writeFile(
    join(dir, "server.toml"),
    `[listen]\nport = ${port}\n[[hosts]]\nname = "n1"\nmaxVms = 1\nmemoryMiB = 1024\ncpus = 1\ntoken = "${SECRET}"\n`,
  );
  server = startVgrid(["server", "--config", join(dir, "server.toml")]);
  await eventually("the server to answer", 30_000, async () => {
    if (!server!.running) throw new Hopeless(`server exited: ${server!.output}`);
    return (await fetch(`${url}/healthz`)).ok ? true : undefined;
  }, 100);
});

after(async () => cleanUp(server, dir));

function sync(waitSeconds: number, version: number) {
  return fetch(`${url}/api/v1/nodes/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: JSON.stringify({ node: "n1", version, waitSeconds, sshHost: "127.0.0.1", facts: { memoryMiB: 1024, cpus: 1 }, reports: [] }),
  });
}

test("the log says a node came online once, not a line per sync; Ctrl-C answers an open long-poll and ends", async () => {
  const first = await sync(0, 0);
  assert.equal(first.status, 200);
  const { version } = (await first.json()) as { version: number };
  for (let i = 0; i < 5; i++) assert.equal((await sync(0, version)).status, 200);
  await eventually("the server to log the node", 10_000, async () => (/node n1 is online/.test(server!.output) ? true : undefined));
  const lines = server!.output.trim().split("\n");
  assert.equal(lines.filter((l) => l.includes("node n1 is online")).length, 1, server!.output);
  assert.equal(lines.filter((l) => /request|nodes\/sync/.test(l)).length, 0, `no line per request:\n${server!.output}`);

  // A node waits on a long-poll that would last a minute; the operator presses Ctrl-C.
  const waiting = sync(60, version);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the long-poll is open by now
  server!.child.kill("SIGINT");
  const answer = await waiting;
  assert.equal(answer.status, 503, "the long-poll is answered, not left to its minute");
  assert.match(answer.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const problem = (await answer.json()) as { type: string; detail: string };
  assert.equal(problem.type, "/problems/shutting-down");
  assert.match(problem.detail, /shutting down/);
  await server!.exited;
  assert.equal(server!.child.exitCode, 0, server!.output);
});
