import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAptDepends, parseAptRecurse } from "./debian-packages.js";

test("apt-cache depends of the kernel metapackage names the versioned kernel package", () => {
  const output = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
  assert.deepEqual(parseAptDepends(output), ["linux-image-6.1.0-56-amd64"]);
});

test("Pre-Depends and alternatives count; virtual packages and other relations do not", () => {
  const output = [
    "foo",
    "  PreDepends: libc6",
    " |Depends: mawk",
    "  Depends: gawk",
    "  Depends: <awk>",
    "  Breaks: bar",
    "  Suggests: baz",
    "",
  ].join("\n");
  assert.deepEqual(parseAptDepends(output), ["libc6", "mawk", "gawk"]);
});

test("a recursive apt-cache depends lists each real package once", () => {
  const output = [
    "dropbear-bin",
    "  Depends: libc6",
    "  Depends: libtomcrypt1",
    "busybox-static",
    "libc6",
    "  Depends: libgcc-s1",
    "libtomcrypt1",
    "  Depends: libc6",
    "<awk>",
    "libgcc-s1",
    "libc6",
    "",
  ].join("\n");
  assert.deepEqual(parseAptRecurse(output), ["dropbear-bin", "busybox-static", "libc6", "libtomcrypt1", "libgcc-s1"]);
});
