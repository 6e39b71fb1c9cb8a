import { test } from "node:test";
import assert from "node:assert/strict";
import { bzImagePayload, payloadFormat } from "./kernel.js";

/** A bzImage-shaped buffer: setup header fields only, with the payload placed where they say. */
function fakeBzImage(fields: { setupSectors: number; version: number; payloadOffset: number; payloadLength: number; size: number }): Buffer {
  const image = Buffer.alloc(fields.size);
  image.writeUInt8(fields.setupSectors, 0x1f1);
  image.write("HdrS", 0x202, "latin1");
  image.writeUInt16LE(fields.version, 0x206);
  image.writeUInt32LE(fields.payloadOffset, 0x248);
  image.writeUInt32LE(fields.payloadLength, 0x24c);
  return image;
}

test("the payload starts after the setup sectors, at the header's offset", () => {
  // The Debian 6.1.0-56 bzImage: 39 setup sectors, payload at 21196 for 8122480 bytes.
  const image = fakeBzImage({ setupSectors: 39, version: 0x20f, payloadOffset: 21196 - 40 * 512, payloadLength: 100, size: 22000 });
  assert.deepEqual(bzImagePayload(image), { offset: 21196, length: 100 });
});

test("0 setup sectors means 4, as the boot protocol says", () => {
  const image = fakeBzImage({ setupSectors: 0, version: 0x20f, payloadOffset: 16, payloadLength: 8, size: 4096 });
  assert.deepEqual(bzImagePayload(image), { offset: 5 * 512 + 16, length: 8 });
});

test("anything but a bzImage with a payload header is refused", () => {
  const cases: [string, Buffer][] = [
    ["too short", Buffer.alloc(100)],
    ["no HdrS magic", Buffer.alloc(4096)],
    ["boot protocol before 2.08", fakeBzImage({ setupSectors: 4, version: 0x207, payloadOffset: 0, payloadLength: 8, size: 4096 })],
    ["payload past the end", fakeBzImage({ setupSectors: 4, version: 0x20f, payloadOffset: 2000, payloadLength: 8, size: 4096 })],
    ["empty payload", fakeBzImage({ setupSectors: 4, version: 0x20f, payloadOffset: 0, payloadLength: 0, size: 4096 })],
  ];
  for (const [why, image] of cases) assert.equal(bzImagePayload(image), undefined, why);
});

test("the payload's compression is told by its magic bytes", () => {
  const cases: [number[], string][] = [
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00], "xz"],
    [[0x1f, 0x8b, 0x08], "gzip"],
    [[0x28, 0xb5, 0x2f, 0xfd, 0x00], "zstd"],
    [[0x02, 0x21, 0x4c, 0x18], "unknown"],
  ];
  for (const [bytes, format] of cases) assert.equal(payloadFormat(Buffer.from(bytes)), format);
});
