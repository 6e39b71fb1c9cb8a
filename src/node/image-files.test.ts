import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { ImageFileProblem, imageFile, requireImageFile } from "./image-files.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "vgrid-images-"));
  await writeFile(path.join(dir, "tiny.qcow2"), "");
  await mkdir(path.join(dir, "a-folder.qcow2"));
});
after(() => rm(dir, { recursive: true, force: true }));

test("an image's file is a plain file name in the image directory, never a path", () => {
  const rows: Array<[string, boolean]> = [
    ["tiny.qcow2", true],
    ["tiny image.qcow2", true],
    ["../etc/passwd", false],
    ["/etc/passwd", false],
    ["sub/disk.qcow2", false],
    ["..", false],
    ["a\\b", false],
    ["disk\n.qcow2", false],
    ["", false],
  ];
  for (const [name, ok] of rows) {
    if (ok) assert.equal(imageFile(dir, "disk", name), path.join(dir, name), name);
    else assert.throws(() => imageFile(dir, "disk", name), (err: unknown) => err instanceof ImageFileProblem && err.field === "image.disk" && /plain file name/.test(err.message), name);
  }
});

test("a missing image file is refused in its owner's words; the node's path is for admins only", async () => {
  assert.equal(await requireImageFile(dir, "disk", "tiny.qcow2"), path.join(dir, "tiny.qcow2"));
  for (const name of ["lost.qcow2", "a-folder.qcow2"]) {
    await assert.rejects(requireImageFile(dir, "disk", name), (err: unknown) => {
      assert.ok(err instanceof ImageFileProblem);
      assert.match(err.message, new RegExp(`${name.replace(".", "\\.")} is not in the image directory of this node: an administrator must copy it there`));
      assert.equal(err.message.includes(dir), false, "the owner is not shown the node's paths");
      assert.ok(err.detail.includes(dir), "the admin is");
      return true;
    });
  }
});
