import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Invalid } from "../../../core/errors.js";
import type { VmSpec } from "../../../core/protocol.js";
import { buildQemuArgs, qemuOptValue, type QemuArgsInput } from "./args.js";
import { sampleSpec } from "../../../../test/support/fixtures.js";
import { vmPaths } from "./files.js";

const ID = "7f3c0a1e-1111-4222-8333-944445555666";

function inputWith(overrides: Partial<QemuArgsInput> = {}, spec: Partial<VmSpec> = {}): QemuArgsInput {
  return {
    paths: vmPaths("/var/lib/vgrid", ID),
    spec: sampleSpec({
      id: ID,
      memoryMiB: 512,
      cpus: 2,
      image: { tag: "tiny", disk: "tiny.qcow2", kernel: "tiny.vmlinuz", initrd: "tiny.initrd", cmdline: "" },
      ...spec,
    }),
    accel: "tcg",
    sshBind: "127.0.0.1",
    sshPort: 40022,
    boot: null,
    ...overrides,
  };
}

/** The value that follows `flag`, for a flag given once. */
function valueOf(args: string[], flag: string): string | undefined {
  const indexes = args.flatMap((a, i) => (a === flag ? [i] : []));
  assert.ok(indexes.length <= 1, `${flag} appears ${indexes.length} times`);
  return indexes.length === 0 ? undefined : args[indexes[0]! + 1];
}

/** Every value that follows `flag`, in order. */
function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe("qemuOptValue", () => {
  const rows: [string, string][] = [
    ["/var/lib/vgrid/vms/x/overlay.qcow2", "/var/lib/vgrid/vms/x/overlay.qcow2"],
    ["/a,b/overlay.qcow2", "/a,,b/overlay.qcow2"],
    ["a,,b", "a,,,,b"],
    [",format=raw", ",,format=raw"],
    ["", ""],
  ];
  for (const [value, want] of rows) {
    it(`doubles the commas of '${value}'`, () => assert.equal(qemuOptValue(value), want));
  }
});

describe("buildQemuArgs", () => {
  it("runs a q35 machine with the spec's memory and cpus, headless and with no default devices", () => {
    const args = buildQemuArgs(inputWith());
    assert.equal(valueOf(args, "-name"), "guest=vgrid-7f3c0a1e-111");
    assert.equal(valueOf(args, "-machine"), "q35");
    assert.equal(valueOf(args, "-m"), "512M");
    assert.equal(valueOf(args, "-smp"), "2");
    assert.equal(valueOf(args, "-display"), "none");
    for (const flag of ["-nodefaults", "-no-user-config"]) assert.ok(args.includes(flag), flag);
    assert.ok(!args.includes("-daemonize"), "the agent keeps QEMU as its child to reap it");
  });

  const accelRows: { accel: "kvm" | "tcg"; want: string; cpu: string | undefined }[] = [
    { accel: "tcg", want: "tcg,tb-size=64", cpu: undefined },
    { accel: "kvm", want: "kvm", cpu: "host" },
  ];
  for (const row of accelRows) {
    it(`uses ${row.accel} as accelerator`, () => {
      const args = buildQemuArgs(inputWith({ accel: row.accel }));
      assert.equal(valueOf(args, "-accel"), row.want);
      assert.equal(valueOf(args, "-cpu"), row.cpu);
    });
  }

  it("attaches the overlay first, then the seed read-only, both virtio", () => {
    const drives = valuesOf(buildQemuArgs(inputWith()), "-drive");
    assert.deepEqual(drives, [
      `file=/var/lib/vgrid/vms/${ID}/overlay.qcow2,if=virtio,format=qcow2,discard=unmap`,
      `file=/var/lib/vgrid/vms/${ID}/seed.iso,if=virtio,format=raw,readonly=on`,
    ]);
  });

  it("forwards ssh on the bind address only, with the spec's MAC, and gives the guest entropy", () => {
    const args = buildQemuArgs(inputWith({ sshBind: "127.0.0.1", sshPort: 40022 }));
    assert.equal(valueOf(args, "-netdev"), "user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22");
    assert.deepEqual(valuesOf(args, "-device"), ["virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56", "virtio-rng-pci"]);
  });

  it("writes the console, the QMP socket and the pid file into the VM's directory", () => {
    const args = buildQemuArgs(inputWith());
    const dir = `/var/lib/vgrid/vms/${ID}`;
    assert.deepEqual(valuesOf(args, "-chardev"), [
      `file,id=console,path=${dir}/console.log`,
      `socket,id=qmp,path=${dir}/qmp.sock,server=on,wait=off`,
    ]);
    assert.equal(valueOf(args, "-serial"), "chardev:console");
    assert.equal(valueOf(args, "-mon"), "chardev=qmp,mode=control");
    assert.equal(valueOf(args, "-pidfile"), `${dir}/qemu.pid`);
  });

  it("doubles commas in paths inside option lists, never in -kernel, -append or -pidfile", () => {
    const paths = vmPaths("/srv/a,b", ID);
    const args = buildQemuArgs(
      inputWith({ paths, boot: { kernel: "/img/k,1", initrd: "/img/i", cmdline: "a=b,c" } }),
    );
    assert.ok(valuesOf(args, "-drive")[0]!.startsWith(`file=/srv/a,,b/vms/${ID}/overlay.qcow2,if=virtio`));
    assert.match(valuesOf(args, "-chardev")[1]!, /^socket,id=qmp,path=\/srv\/a,,b\/vms\/.*\/qmp\.sock,server=on/);
    assert.equal(valueOf(args, "-kernel"), "/img/k,1");
    assert.equal(valueOf(args, "-append"), "a=b,c");
    assert.equal(valueOf(args, "-pidfile"), `/srv/a,b/vms/${ID}/qemu.pid`);
  });

  const bootRows: { name: string; boot: QemuArgsInput["boot"]; kernel?: string; initrd?: string; append?: string }[] = [
    { name: "a disk that boots by itself", boot: null },
    {
      name: "kernel, initrd and command line",
      boot: { kernel: "/img/tiny.vmlinuz", initrd: "/img/tiny.initrd", cmdline: "console=ttyS0 vgrid_username=alice" },
      kernel: "/img/tiny.vmlinuz",
      initrd: "/img/tiny.initrd",
      append: "console=ttyS0 vgrid_username=alice",
    },
    {
      name: "a kernel without initrd",
      boot: { kernel: "/img/vmlinuz", initrd: null, cmdline: "root=/dev/vda" },
      kernel: "/img/vmlinuz",
      append: "root=/dev/vda",
    },
  ];
  for (const row of bootRows) {
    it(`boots ${row.name}`, () => {
      const args = buildQemuArgs(inputWith({ boot: row.boot }));
      assert.equal(valueOf(args, "-kernel"), row.kernel);
      assert.equal(valueOf(args, "-initrd"), row.initrd);
      assert.equal(valueOf(args, "-append"), row.append);
    });
  }

  const badRows: { name: string; input: QemuArgsInput; field: string; words: string }[] = [
    { name: "a MAC with an option in it", input: inputWith({}, { mac: "52:54:00:12:34:56,id=x" }), field: "mac", words: "MAC" },
    { name: "a MAC too short", input: inputWith({}, { mac: "52:54:00:12:34" }), field: "mac", words: "six hex pairs" },
    { name: "a host name as bind address", input: inputWith({ sshBind: "localhost" }), field: "sshBind", words: "IPv4" },
    { name: "a bind address with options", input: inputWith({ sshBind: "127.0.0.1,x=y" }), field: "sshBind", words: "IPv4" },
    { name: "port 0", input: inputWith({ sshPort: 0 }), field: "sshPort", words: "between 1 and 65535" },
    { name: "port 70000", input: inputWith({ sshPort: 70000 }), field: "sshPort", words: "between 1 and 65535" },
    { name: "half a MiB", input: inputWith({}, { memoryMiB: 0.5 }), field: "memoryMiB", words: "MiB" },
    { name: "zero cpus", input: inputWith({}, { cpus: 0 }), field: "cpus", words: "at least 1" },
    {
      name: "a newline in the command line",
      input: inputWith({ boot: { kernel: "/k", initrd: null, cmdline: "quiet\ninit=/bin/sh" } }),
      field: "cmdline",
      words: "newline",
    },
  ];
  for (const row of badRows) {
    it(`rejects ${row.name}`, () => {
      assert.throws(() => buildQemuArgs(row.input), (err: unknown) => {
        assert.ok(err instanceof Invalid);
        assert.equal(err.field, row.field);
        assert.ok(err.message.includes(row.words), err.message);
        return true;
      });
    });
  }
});
