// KVM or TCG: decided by running a probe guest, because /dev/kvm can be missing, or present while a
// KVM guest hangs instead of failing (MACHINE-NOTES.md, QEMU).
//
// Firmware output alone proves too little: on a nested-virtualisation node measured here, SeaBIOS
// printed under KVM (slowly) while a Linux kernel under the same KVM made no progress in minutes
// and a 5e7-iteration loop did not finish in 10 s (TCG: 0.3 s for the whole probe). So the probe
// guest enters long mode and runs that loop; only a probe that finishes it in time means KVM.

import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import type { Accel } from "./args.js";

export interface DetectAccelOptions {
  /** How long the probe's vCPU has to print its first BIOS line. */
  timeoutMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * The probe guest (190 bytes), a multiboot v1 kernel that QEMU's `-kernel` loads. It writes 'P' to
 * the debug console port 0x402 in protected mode, 'L' once in long mode, then 'K' after 5e7 loop
 * iterations, and halts. Assembled with `as --64` + `objcopy -O binary -j .text` from:
 *
 *         .set LOAD, 0x100000
 *         .set TABLES, 0x200000
 *         .text
 *         .code32
 * header: .long 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
 *         .long LOAD, LOAD, 0, 0, LOAD + (start32 - header)
 * start32:
 *         cli
 *         mov $0x402, %dx
 *         mov $'P', %al
 *         out %al, %dx
 *         mov $TABLES, %edi                   # identity map 0-2 MiB: PML4 -> PDPT -> PD
 *         xor %eax, %eax
 *         mov $3072, %ecx
 *         rep stosl
 *         movl $(TABLES + 0x1003), TABLES
 *         movl $(TABLES + 0x2003), TABLES + 0x1000
 *         movl $0x83, TABLES + 0x2000
 *         mov $TABLES, %eax
 *         mov %eax, %cr3
 *         mov %cr4, %eax
 *         or $0x20, %eax                      # PAE
 *         mov %eax, %cr4
 *         mov $0xC0000080, %ecx               # EFER.LME
 *         rdmsr
 *         or $0x100, %eax
 *         wrmsr
 *         mov %cr0, %eax
 *         or $0x80000001, %eax                # PG | PE
 *         mov %eax, %cr0
 *         lgdt LOAD + (gdtr - header)
 *         ljmp $0x08, $(LOAD + (start64 - header))
 *         .code64
 * start64:
 *         mov $0x402, %dx                     # (rdmsr/wrmsr overwrote %edx)
 *         mov $'L', %al
 *         out %al, %dx
 *         mov $50000000, %ecx
 * 1:      dec %ecx
 *         jnz 1b
 *         mov $'K', %al
 *         out %al, %dx
 * 2:      hlt
 *         jmp 2b
 *         .balign 8
 * gdt:    .quad 0, 0x00209A0000000000         # null, 64-bit code
 * gdtr:   .word gdtr - gdt - 1
 *         .long LOAD + (gdt - header)
 */
const PROBE_KERNEL = Buffer.from(
  "ArCtGwAAAQD+T1HkAAAQAAAAEAAAAAAAAAAAACAAEAD6ZroCBLBQ7r8AACAAMcC5AAwAAPOrxwUAACAAAxAgAMcFABAgAAMgIADHBQAgIACD" +
    "AAAAuAAAIAAPItgPIOCDyCAPIuC5gAAAwA8yDQABAAAPMA8gwA0BAACADyLADwEVuAAQAOqMABAACABmugIEsEzuuYDw+gL/yXX8sEvu9Ov9" +
    "Zg8fRAAAAAAAAAAAAAAAAAAAAJogAA8AqAAQAA==",
  "base64",
);
/** Every mark the probe writes once it has run its loop. */
const PROBE_DONE = "PLK";

export interface AccelDecision {
  accel: Accel;
  reason: string;
}

/** A working KVM runs the whole probe in well under a second; 3 s leaves room for a busy node. */
const DEFAULT_PROBE_TIMEOUT_MS = 3_000;
/** A SIGKILLed QEMU is gone in milliseconds; one stuck in the kernel may never be: do not wait forever. */
const REAP_TIMEOUT_MS = 5_000;
const POLL_MS = 25;

/**
 * KVM if a probe guest really runs under it, TCG otherwise. Every call runs a probe (up to a few
 * seconds): a node runs it once at start and hands the result to its driver (node.ts).
 */
export async function detectAccel(opts: DetectAccelOptions = {}): Promise<Accel> {
  const decision = await probeKvm(opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS).catch(
    (err: unknown): AccelDecision => ({ accel: "tcg", reason: `KVM probe could not run: ${String(err)}` }),
  );
  opts.log?.(`qemu accelerator: ${decision.accel} (${decision.reason})`, { ...decision });
  return decision.accel;
}

/**
 * Runs the probe guest under KVM and reads what it wrote to the debug console. Only the final mark
 * within `timeoutMs` means KVM; QEMU failing, silence or a loop unfinished in time mean TCG.
 * The probe QEMU is always killed and reaped.
 */
export async function probeKvm(timeoutMs: number): Promise<AccelDecision> {
  await removeStaleProbeDirs();
  const tmp = await mkdtemp(path.join(os.tmpdir(), `${PROBE_DIR_PREFIX}${process.pid}-`));
  const debugLog = path.join(tmp, "debugcon.log");
  const kernel = path.join(tmp, "probe.bin");
  try {
    await writeFile(kernel, PROBE_KERNEL);
    const started = Date.now();
    // Under coreutils' timeout, so that a probe orphaned by an agent killed mid-probe (SIGKILL) still
    // ends by itself: a hung KVM guest would otherwise spin on. SIGTERM to timeout reaches QEMU, and
    // --kill-after follows it with SIGKILL.
    const child = spawn(
      "timeout",
      [
        "--kill-after=1",
        String(Math.ceil(timeoutMs / 1000) + 5),
        "qemu-system-x86_64",
        "-accel", "kvm",
        "-machine", "q35",
        "-m", "64M",
        "-kernel", kernel,
        "-display", "none",
        "-nodefaults",
        "-no-user-config",
        "-chardev", `file,id=dbg,path=${debugLog.replaceAll(",", ",,")}`,
        "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-2048);
    });
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once("close", (code) => {
        exitCode = code;
        resolve();
      });
      child.once("error", (err) => {
        stderr += err.message;
        exitCode = -1;
        resolve();
      });
    });

    try {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exitCode !== undefined) {
          const lastLine = stderr.trim().split("\n").at(-1) ?? "";
          return { accel: "tcg", reason: `KVM probe failed: ${lastLine || `QEMU exited ${exitCode}`}` };
        }
        if ((await readMarks(debugLog)) === PROBE_DONE) {
          return { accel: "kvm", reason: `KVM probe guest ran its loop in long mode in ${Date.now() - started} ms` };
        }
        await sleep(POLL_MS);
      }
      const marks = await readMarks(debugLog);
      const seen = marks.length === 0 ? "printed nothing" : `printed '${marks}' but did not finish its loop`;
      return { accel: "tcg", reason: `KVM probe guest ${seen} within ${timeoutMs} ms: KVM hangs or crawls here` };
    } finally {
      if (exitCode === undefined) child.kill("SIGTERM");
      await Promise.race([exited, sleep(REAP_TIMEOUT_MS, undefined, { ref: false })]);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const PROBE_DIR_PREFIX = "vgrid-kvm-probe-";

/** Scratch dirs of probes whose process is gone (an agent killed mid-probe): nobody else removes them. */
async function removeStaleProbeDirs(): Promise<void> {
  const names = await readdir(os.tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^vgrid-kvm-probe-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await rm(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The probe's marks ("P", "PL" or "PLK"). SeaBIOS writes its own log to the same port first; its
 * last line ends with a newline, so the marks are what follows the last newline.
 */
async function readMarks(file: string): Promise<string> {
  const text = await readFile(file, "latin1").catch(() => "");
  const tail = text.slice(text.lastIndexOf("\n") + 1);
  return tail.length > 0 && "PLK".startsWith(tail) ? tail : "";
}
