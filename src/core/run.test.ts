import assert from "node:assert/strict";
import { test } from "node:test";
import { RunError, run } from "./run.js";

test("a program's output comes back; a failing one says its command, status and last words", async () => {
  assert.equal((await run("sh", ["-c", "echo out; echo err >&2"])).stdout, "out\n");
  await assert.rejects(run("sh", ["-c", "echo broken >&2; exit 3"]), (err: unknown) => {
    return err instanceof RunError && err.exitCode === 3 && /sh -c .*exited with status 3: broken/.test(err.message);
  });
  await assert.rejects(run("no-such-program-of-vgrid", []), /not installed/);
});

test("an aborted signal ends the program at once and rejects as an abort", async () => {
  const abort = new AbortController();
  const running = run("sleep", ["30"], { signal: abort.signal });
  setImmediate(() => abort.abort());
  await assert.rejects(running, (err: unknown) => err instanceof Error && err.name === "AbortError");
});

test("a program that runs past its time is killed, and the error says so", async () => {
  await assert.rejects(run("sleep", ["30"], { timeoutMs: 50 }), /killed after 50 ms without finishing/);
});
