// The VM's disk: a qcow2 overlay on the image's disk, made in constant time whatever the image size.

import { spawn } from "node:child_process";

/** qemu-img reads the backing file's header only: ~11 ms on a 2 GB base; far longer means stuck. */
const QEMU_IMG_TIMEOUT_MS = 30_000;
const STDERR_LIMIT = 8 * 1024;

/** `qemu-img create -f qcow2 -F qcow2 -b BACKING OUT`; `backing` must be absolute (stored in OUT). */
export function createOverlay(backing: string, out: string): Promise<void> {
  const args = ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, out];
  return new Promise((resolve, reject) => {
    const child = spawn("qemu-img", args, { stdio: ["ignore", "ignore", "pipe"], timeout: QEMU_IMG_TIMEOUT_MS });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    child.on("error", (err) => reject(new Error(`cannot run qemu-img to make the overlay: ${err.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve();
      const why = signal !== null ? `was killed by ${signal} (timeout ${QEMU_IMG_TIMEOUT_MS} ms?)` : `exited ${code}`;
      reject(new Error(`qemu-img ${why} making ${out} on ${backing}: ${stderr.trim()}`));
    });
  });
}
