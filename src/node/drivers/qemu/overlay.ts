// The VM's disk: a qcow2 overlay on the image's disk, made in constant time whatever the image size.

import { run } from "../../../core/run.js";

/** qemu-img reads the backing file's header only: ~11 ms on a 2 GB base; far longer means stuck. */
const QEMU_IMG_TIMEOUT_MS = 30_000;

/** `qemu-img create -f qcow2 -F qcow2 -b BACKING OUT`; `backing` must be absolute (stored in OUT). */
export async function createOverlay(backing: string, out: string, signal?: AbortSignal): Promise<void> {
  await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, out], { timeoutMs: QEMU_IMG_TIMEOUT_MS, ...(signal ? { signal } : {}) });
}
