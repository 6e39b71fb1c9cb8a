import assert from "node:assert/strict";
import { test } from "node:test";
import { parseImageSidecar, publicImage } from "./image.js";

const sidecar = { tag: "debian", name: "Debian 12", disk: "debian.qcow2" };

test("a sidecar's description is optional: null when left out, in the entry and in the image object", () => {
  const described = parseImageSidecar("debian.json", JSON.stringify({ ...sidecar, description: "Debian 12 with build tools; log in as root" }));
  assert.equal(described.description, "Debian 12 with build tools; log in as root");
  assert.equal(publicImage(described).description, "Debian 12 with build tools; log in as root");
  const plain = parseImageSidecar("debian.json", JSON.stringify(sidecar));
  assert.equal(plain.description, null);
  assert.equal(publicImage(plain).description, null);
});

test("a bad description is refused naming the file and the key", () => {
  const rows: Array<[string, unknown, string]> = [
    ["too long", "x".repeat(1001), "debian.json: description: must not have more than 1000 characters"],
    ["not text", 42, "debian.json: description: must be string"],
  ];
  for (const [why, description, words] of rows) {
    assert.throws(() => parseImageSidecar("debian.json", JSON.stringify({ ...sidecar, description })), (err: Error) => err.message.includes(words), `${why}: should say '${words}'`);
  }
});
