import assert from "node:assert/strict";
import { test } from "node:test";
import { buildServerConfig } from "../config.js";
import { durationWords, ownerAddress, portalUrl, utc, warningMail } from "./mails.js";

const config = buildServerConfig(
  { listen: { host: "127.0.0.1", port: 8080 }, mail: { host: "smtp", from: "v <v@x>", userAddress: "${username}@lab.example.org" } },
  { file: "server.toml", dir: "/tmp" },
);

test("durations in words, rounded to what a reader needs", () => {
  const rows: Array<[number, string]> = [
    [30, "1 minute"],
    [45 * 60, "45 minutes"],
    [3600, "1 hour"],
    [24 * 3600, "24 hours"],
    [72 * 3600, "72 hours"],
    [96 * 3600, "4 days"],
  ];
  for (const [seconds, words] of rows) assert.equal(durationWords(seconds), words, String(seconds));
  assert.equal(utc("2026-12-03T12:34:56.789Z"), "2026-12-03 12:34 UTC");
});

test("links use publicUrl, else the address the server listens on; a user's mail goes to [mail] userAddress", () => {
  assert.equal(portalUrl({ config }), "http://127.0.0.1:8080");
  assert.equal(portalUrl({ config, listenUrl: "http://127.0.0.1:43210" }), "http://127.0.0.1:43210");
  assert.equal(portalUrl({ config: { ...config, publicUrl: "https://vgrid.example.org" } }), "https://vgrid.example.org");
  assert.equal(ownerAddress(config, "ada"), "ada@lab.example.org");
  assert.equal(ownerAddress({}, "ada"), "ada@localhost", "without [mail], it waits in the outbox under the default address");
});

test("a warning says which VM, when (UTC and from now), the one-click link and the CLI line, in text and HTML alike", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  const mail = warningMail(
    { config },
    { id: "7f3c", name: "vm-<001>", owner: "ada", image: "tiny" },
    { seconds: 86_400, expiresAt: new Date("2026-12-03T12:00:00Z"), now, extension: { token: "vgx_abc", hours: 24 } },
  );
  assert.equal(mail.key, "expiry-warning:7f3c:2026-12-03T12:00:00.000Z:86400");
  assert.equal(mail.to, "ada@lab.example.org");
  for (const words of ["vm-<001>", "2026-12-03 12:00 UTC, in 24 hours", "http://127.0.0.1:8080/extend/vgx_abc", "vgrid extend vm-<001> --hours 24"]) {
    assert.ok(mail.text.includes(words), words);
  }
  assert.ok(mail.html.includes("vm-&lt;001&gt;") && !mail.html.includes("vm-<001>"), "escaped in the HTML");
});
