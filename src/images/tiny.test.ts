import { test } from "node:test";
import assert from "node:assert/strict";
import { imagePaths, parseLdList, tinySidecar } from "./tiny.js";

test("the kernel, initrd and sidecar sit beside the disk with its stem", () => {
  const cases: [string, string[]][] = [
    ["/srv/images/tiny.qcow2", ["/srv/images/tiny.qcow2", "/srv/images/tiny.vmlinuz", "/srv/images/tiny.initrd", "/srv/images/tiny.json"]],
    ["/srv/images/tiny", ["/srv/images/tiny", "/srv/images/tiny.vmlinuz", "/srv/images/tiny.initrd", "/srv/images/tiny.json"]],
    ["/srv/v1.2/tiny-2.img", ["/srv/v1.2/tiny-2.img", "/srv/v1.2/tiny-2.vmlinuz", "/srv/v1.2/tiny-2.initrd", "/srv/v1.2/tiny-2.json"]],
  ];
  for (const [out, expected] of cases) {
    const paths = imagePaths(out);
    assert.deepEqual([paths.disk, paths.kernel, paths.initrd, paths.sidecar], expected, out);
  }
});

test("the sidecar names the files by base name and keeps ${username} for the node to render", () => {
  assert.deepEqual(tinySidecar(imagePaths("/any/dir/tiny.qcow2")), {
    tag: "tiny",
    name: "Tiny (busybox + dropbear)",
    description: "A minimal Linux to try vgrid with: a shell and an ssh server, ready in seconds. No package manager; what you write on its disk lasts as long as the VM.",
    boot: "direct",
    disk: "tiny.qcow2",
    kernel: "tiny.vmlinuz",
    initrd: "tiny.initrd",
    cmdline: "console=ttyS0 panic=-1 vgrid_username=${username}",
    minMemoryMiB: 128,
    defaultMemoryMiB: 256,
    maxMemoryMiB: 2048,
    maxCpus: 4,
  });
});

test("ld.so --list output gives each library and where it resolved", () => {
  const output = [
    "\tlinux-vdso.so.1 (0x00007ffd4a1f2000)",
    "\tlibtomcrypt.so.1 => /tmp/w/packages/usr/lib/x86_64-linux-gnu/libtomcrypt.so.1 (0x00007f28d1c24000)",
    "\tlibz.so.1 => /tmp/w/packages/lib/x86_64-linux-gnu/libz.so.1 (0x00007f28d1be7000)",
    "\tlibgone.so.2 => not found",
    "\t/lib64/ld-linux-x86-64.so.2 => /tmp/w/packages/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 (0x00007f28d1d3b000)",
    "",
  ].join("\n");
  assert.deepEqual(parseLdList(output), [
    { name: "libtomcrypt.so.1", path: "/tmp/w/packages/usr/lib/x86_64-linux-gnu/libtomcrypt.so.1" },
    { name: "libz.so.1", path: "/tmp/w/packages/lib/x86_64-linux-gnu/libz.so.1" },
    { name: "libgone.so.2", path: undefined },
    { name: "/lib64/ld-linux-x86-64.so.2", path: "/tmp/w/packages/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
  ]);
});
