import assert from "node:assert/strict";
import { test } from "node:test";
import { parseHostKeys } from "./host-keys.js";

const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const EC = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEm=";

test("the keys of the first block the guest printed, as `type base64`, whatever the console put around them", () => {
  const rows: Array<[string, string, string[]]> = [
    ["tiny's /init", `vgrid-init: ...\r\n-----BEGIN SSH HOST KEY KEYS-----\r\n${ED} root@vm-001\r\n-----END SSH HOST KEY KEYS-----\r\n`, [ED]],
    ["cloud-init's several keys", `-----BEGIN SSH HOST KEY KEYS-----\n${EC} root@deb\n${ED} root@deb\n-----END SSH HOST KEY KEYS-----\n`, [EC, ED]],
    ["a later block changes nothing", `-----BEGIN SSH HOST KEY KEYS-----\n${ED}\n-----END SSH HOST KEY KEYS-----\n-----BEGIN SSH HOST KEY KEYS-----\n${EC}\n-----END SSH HOST KEY KEYS-----\n`, [ED]],
    ["no block", `${ED}\n`, []],
    ["a block not ended yet (still printing)", `-----BEGIN SSH HOST KEY KEYS-----\n${ED}\n`, []],
    ["lines that are not keys are skipped", `-----BEGIN SSH HOST KEY KEYS-----\nrm -rf /\nssh-ed25519 not!base64\n\u001b[31mssh-ed25519 AAAA\n${ED}\n-----END SSH HOST KEY KEYS-----`, [ED]],
    ["a key given twice is kept once", `-----BEGIN SSH HOST KEY KEYS-----\n${ED} a\n${ED} b\n-----END SSH HOST KEY KEYS-----`, [ED]],
  ];
  for (const [why, text, keys] of rows) assert.deepEqual(parseHostKeys(text), keys, why);
});

test("at most a few keys are taken, however many the guest prints", () => {
  const many = Array.from({ length: 50 }, (_, i) => `ssh-ed25519 AAAA${"x".repeat(i + 1)}`).join("\n");
  assert.equal(parseHostKeys(`-----BEGIN SSH HOST KEY KEYS-----\n${many}\n-----END SSH HOST KEY KEYS-----`).length, 8);
});
