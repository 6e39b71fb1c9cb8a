// The qemu-system-x86_64 argument array of one VM, built by a pure function of its inputs so that
// it can be tested row by row without booting anything.

import net from "node:net";

import { Invalid } from "../../../core/errors.js";
import { isMac, printable } from "../../../core/names.js";
import type { VmSpec } from "../../../core/protocol.js";
import type { VmPaths } from "./files.js";

export type Accel = "kvm" | "tcg";

/** Direct boot: the image's kernel and initrd (absolute paths) and the rendered command line. */
export interface DirectBoot {
  kernel: string;
  initrd: string | null;
  cmdline: string;
}

export interface QemuArgsInput {
  paths: VmPaths;
  spec: VmSpec;
  accel: Accel;
  /** The node address the ssh port is forwarded on (an IPv4 address, e.g. 127.0.0.1). */
  sshBind: string;
  sshPort: number;
  /** null when the disk boots by itself. */
  boot: DirectBoot | null;
}

/**
 * Under TCG the translation cache defaults to a quarter of guest RAM or more: 64 MiB keeps a small
 * guest's QEMU at a few hundred MB of RSS instead of about 1 GB (MACHINE-NOTES.md, QEMU).
 */
const TCG_TB_SIZE_MIB = 64;

/**
 * A value inside a QEMU option list (`-drive file=VALUE,format=...`): QEMU reads a comma as the
 * start of the next option unless it is doubled. See "Option syntax" in qemu(1).
 */
export function qemuOptValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/** The full argument array (without the program name) to run the VM. */
export function buildQemuArgs(input: QemuArgsInput): string[] {
  const { paths, spec, accel, sshBind, sshPort, boot } = input;
  checkArgsInput(input);
  const args: string[] = [
    "-name",
    `guest=${qemuOptValue(spec.machineName)}`,
    "-machine",
    "q35",
    ...(accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", `tcg,tb-size=${TCG_TB_SIZE_MIB}`]),
    "-m",
    `${spec.memoryMiB}M`,
    "-smp",
    String(spec.cpus),
    // No monitor, no default NIC, no VGA, no config file of the host's: every device is listed here.
    "-display",
    "none",
    "-nodefaults",
    "-no-user-config",
  ];
  if (boot !== null) {
    // -kernel, -initrd and -append take their value whole, not as an option list: no comma doubling.
    args.push("-kernel", boot.kernel);
    if (boot.initrd !== null) args.push("-initrd", boot.initrd);
    args.push("-append", boot.cmdline);
  }
  args.push(
    // The overlay comes first so that it is /dev/vda in the guest (images boot with root=/dev/vda).
    "-drive",
    `file=${qemuOptValue(paths.overlay)},if=virtio,format=qcow2,discard=unmap`,
    "-drive",
    `file=${qemuOptValue(paths.seedIso)},if=virtio,format=raw,readonly=on`,
    "-netdev",
    `user,id=n0,hostfwd=tcp:${sshBind}:${sshPort}-:22`,
    "-device",
    `virtio-net-pci,netdev=n0,mac=${spec.mac}`,
    // The guest's sshd makes host keys at first boot: without an entropy source it can stall on it.
    "-device",
    "virtio-rng-pci",
    // Chardevs rather than `-serial file:` and `-qmp unix:`: every path then goes through the same
    // option parser, where a doubled comma is the one escape.
    "-chardev",
    `file,id=console,path=${qemuOptValue(paths.consoleLog)}`,
    "-serial",
    "chardev:console",
    "-chardev",
    `socket,id=qmp,path=${qemuOptValue(paths.qmpSocket)},server=on,wait=off`,
    "-mon",
    "chardev=qmp,mode=control",
    "-pidfile",
    paths.pidFile,
  );
  return args;
}

function checkArgsInput({ spec, sshBind, sshPort, boot }: QemuArgsInput): void {
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 16) {
    throw new Invalid("memoryMiB", `memory ${spec.memoryMiB} MiB is not a whole number of MiB of at least 16`);
  }
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1) {
    throw new Invalid("cpus", `cpus ${spec.cpus} is not a whole number of at least 1`);
  }
  if (!isMac(spec.mac)) {
    throw new Invalid("mac", `MAC address '${printable(spec.mac)}' is not six hex pairs like 52:54:00:12:34:56`);
  }
  // QEMU 7.2's hostfwd takes an IPv4 address; a host name or anything else could smuggle options.
  if (!net.isIPv4(sshBind)) {
    throw new Invalid("sshBind", `ssh bind address '${printable(sshBind)}' is not an IPv4 address such as 127.0.0.1`);
  }
  if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535) {
    throw new Invalid("sshPort", `ssh port ${sshPort} is not between 1 and 65535`);
  }
  if (boot !== null && boot.cmdline.includes("\n")) {
    throw new Invalid("cmdline", "a kernel command line cannot contain a newline");
  }
}
