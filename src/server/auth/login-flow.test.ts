import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { openFlow, sealFlow, type LoginFlow } from "./login-flow.js";

const key = randomBytes(32);
const now = new Date("2026-12-01T10:00:00Z");
const flow: LoginFlow = { state: "s", nonce: "n", verifier: "v", next: "/vms", expiresAt: now.getTime() + 600_000 };

test("a sealed flow opens with its key, within its time", () => {
  const sealed = sealFlow(key, flow);
  assert.ok(!sealed.includes("/vms"), "the browser cannot read what the cookie holds");
  assert.deepEqual(openFlow(key, sealed, now), { flow });
  assert.deepEqual(openFlow(key, sealed, new Date(flow.expiresAt)), { refused: "expired" });
});

test("a changed, foreign or garbled seal never opens", () => {
  const sealed = sealFlow(key, flow);
  const flipped = Buffer.from(sealed, "base64url");
  flipped[20] = flipped[20]! ^ 1;
  for (const [why, value, k] of [
    ["one bit changed", flipped.toString("base64url"), key],
    ["another server's key", sealed, randomBytes(32)],
    ["too short", "AAAA", key],
    ["not base64", "%%%", key],
    ["empty", "", key],
  ] as const) {
    assert.deepEqual(openFlow(k, value, now), { refused: "forged" }, why);
  }
});
