// The errors a newcomer meets in the first hour, through the real `vgrid` command: each is one line on
// stderr that names the problem and the fix, exit status 1, and nothing is left half-made.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { VGRID, tempDir } from "../support/vgrid.js";

const run = promisify(execFile);
let dir: string;
let squatter: Server;
let takenPort: number;

before(async () => {
  dir = await tempDir("errors");
  // Something already listens where vgrid up is asked to.
  squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
  takenPort = (squatter.address() as { port: number }).port;
});

after(async () => {
  await new Promise((resolve) => squatter.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const SECRET = "a-node-secret-long-enough-0123456789";

interface Row {
  why: string;
  /** Files to write in the test's directory first. */
  files?: Record<string, string>;
  args: () => string[];
  /** What the line must say; a function for what is known only once the test runs. */
  words: string[] | (() => string[]);
  /** Paths (in the test's directory) that must not exist afterwards. */
  absent?: string[];
}

const rows: Row[] = [
  {
    why: "a second vgrid up on a port that is taken",
    args: () => ["up", "--data", join(dir, "new-data"), "--listen", `127.0.0.1:${takenPort}`],
    words: () => [`port ${takenPort} on 127.0.0.1 is taken`, "--listen 127.0.0.1:"],
    absent: ["new-data"],
  },
  {
    why: "a database directory that does not exist",
    files: { "db.toml": `[database]\nfile = "no/such/dir/vgrid.db"\n[listen]\nport = 0\n` },
    args: () => ["server", "--config", join(dir, "db.toml")],
    words: ["the directory", "no/such/dir", "does not exist", "mkdir -p", "[database] file"],
  },
  {
    why: "a TOML syntax error",
    files: { "syntax.toml": `admins = ["alice"]\n[listen]\nport = 80 80\n` },
    args: () => ["server", "--config", join(dir, "syntax.toml")],
    words: ["syntax.toml: line 3, column", "not valid TOML"],
  },
  {
    why: "a node secret with spaces in server.toml",
    files: { "spaces.toml": `[[hosts]]\nname = "hv1"\nmaxVms = 1\nmemoryMiB = 1024\ncpus = 1\ntoken = "a long random secret for this node"\n` },
    args: () => ["server", "--config", join(dir, "spaces.toml")],
    words: ["spaces.toml: hosts[0].token: contains whitespace", "vgrid config new-node-secret"],
  },
  {
    why: "a node secret with spaces in node.toml",
    files: { "node.toml": `name = "hv1"\nserver = "http://127.0.0.1:1"\ntoken = "a long random secret for this node"\n` },
    args: () => ["node", "--config", join(dir, "node.toml")],
    words: ["node.toml: token: contains whitespace", "vgrid config new-node-secret"],
  },
  {
    why: "a node secret that is too short",
    files: { "short.toml": `[[hosts]]\nname = "hv1"\nmaxVms = 1\nmemoryMiB = 1024\ncpus = 1\ntoken = "short"\n` },
    args: () => ["server", "--config", join(dir, "short.toml")],
    words: ["hosts[0].token: is shorter than 32 characters"],
  },
  {
    why: "an unknown key",
    files: { "key.toml": `[listen]\nhots = "0.0.0.0"\ntoken = "${SECRET}"\n` },
    args: () => ["server", "--config", join(dir, "key.toml")],
    words: ["key.toml: listen.hots: unknown key"],
  },
  {
    why: "a config file that is not there",
    args: () => ["server", "--config", join(dir, "missing.toml")],
    words: ["missing.toml: (file): cannot be read: no such file"],
  },
];

for (const row of rows) {
  test(`${row.why}: one line that names it and the fix, status 1`, async () => {
    for (const [name, text] of Object.entries(row.files ?? {})) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, name), text);
    }
    const result = await run(VGRID, row.args(), { timeout: 30_000 }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(result.code, 1, `${row.why}: ${result.stderr}`);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `one line: ${result.stderr}`);
    const words = typeof row.words === "function" ? row.words() : row.words;
    for (const word of words) assert.ok(lines[0]!.includes(word), `'${lines[0]}' should say '${word}'`);
    for (const path of row.absent ?? []) assert.equal(existsSync(join(dir, path)), false, `${path} is left behind`);
  });
}
