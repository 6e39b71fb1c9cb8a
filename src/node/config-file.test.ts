import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { loadNodeConfig } from "./config-file.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vgrid-node-config-"));
  await writeFile(join(dir, "not-a-ca.pem"), "hello\n");
});
after(() => rm(dir, { recursive: true, force: true }));

const SECRET = "node-config-test-secret-0123456789abcdef";

async function load(lines: string): Promise<unknown> {
  const file = join(dir, "node.toml");
  await writeFile(file, `name = "hv1"\ntoken = "${SECRET}"\n${lines}`);
  return loadNodeConfig(file);
}

test("plain HTTP goes only to this machine unless insecure = true; a serverCa must hold certificates", async () => {
  const rows: Array<[string, RegExp | undefined]> = [
    ['server = "http://127.0.0.1:8080"', undefined],
    ['server = "http://localhost:8080"', undefined],
    ['server = "http://[::1]:8080"', undefined],
    ['server = "https://10.0.0.1:8443"', undefined],
    ['server = "http://10.0.0.1:8080"\ninsecure = true', undefined],
    ['server = "http://10.0.0.1:8080"', /node\.toml: server: 'http:\/\/10\.0\.0\.1:8080' is plain HTTP to another machine.*insecure = true/],
    ['server = "http://vgrid.invalid:8080"', /node\.toml: server: .*is plain HTTP to another machine/],
    ['server = "https://10.0.0.1:8443"\nserverCa = "missing.pem"', /node\.toml: serverCa: .*missing\.pem cannot be read: no such file/],
    ['server = "https://10.0.0.1:8443"\nserverCa = "not-a-ca.pem"', /node\.toml: serverCa: .*not-a-ca\.pem holds no certificate/],
  ];
  for (const [lines, refused] of rows) {
    if (refused === undefined) await assert.doesNotReject(load(lines), lines);
    else await assert.rejects(load(lines), refused, lines);
  }
});
