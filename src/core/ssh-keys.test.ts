import assert from "node:assert/strict";
import { test } from "node:test";
import { Invalid } from "./errors.js";
import { parseSshPublicKey, sshFingerprint } from "./ssh-keys.js";

const good = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

test("a valid key is kept in one canonical line", () => {
  assert.equal(parseSshPublicKey(`  ${good}  `, 0), good);
});

test("bad keys are refused with a message that names them", () => {
  const rows: Array<[string, string]> = [
    ["not a key", "not an OpenSSH public key"],
    ["ssh-ed25519", "not an OpenSSH public key"],
    ["ssh-ed25519 AAAAnotbase64!!", "malformed"],
    ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", "malformed"],
    [`${good}\n  - ssh-ed25519 AAAAevil`, "line break"],
    [`${good}\u0000`, "control character"],
    ["-----BEGIN OPENSSH PRIVATE KEY-----", "not an OpenSSH public key"],
  ];
  for (const [key, words] of rows) {
    assert.throws(
      () => parseSshPublicKey(key, 3),
      (e: unknown) => e instanceof Invalid && e.message.includes(words) && e.message.includes("sshKeys[3]"),
      key,
    );
  }
});

test("a key's fingerprint is the one ssh-keygen -l prints", () => {
  assert.equal(sshFingerprint(good), "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU");
});

test("the error names the request's own field", () => {
  assert.throws(() => parseSshPublicKey("nope", 1, "keys"), (e: unknown) => e instanceof Invalid && e.field === "keys" && e.message.startsWith("keys[1] ('nope')"));
});
