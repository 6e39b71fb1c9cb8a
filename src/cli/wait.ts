// Following a VM until it is ready for ssh (`deploy --wait`): polls GET /vms/{id} and reports each change.

import { setTimeout as sleepMs } from "node:timers/promises";
import type { Vm } from "../core/api.js";
import { isPoweredOff } from "../core/vm-state.js";
import { ConnectionError, type ApiClient } from "./client.js";
import { Failure } from "./errors.js";
import { vmLabel } from "./output.js";

export interface WaitOptions {
  timeoutMs: number;
  /** Once a second: quick enough for a person, nothing for the server. */
  intervalMs?: number;
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<unknown>;
  now?: () => number;
}

/** Ready means what API.md promises `deploy --wait` returns on: running, and the guest's ssh answers. */
export function isReady(vm: Vm): boolean {
  return vm.state === "running" && vm.responding;
}

/** States from which a VM will never become ready by itself (a stopped one waits for someone to start it). */
function isHopeless(vm: Vm): boolean {
  return vm.state === "failed" || vm.state === "terminating" || vm.state === "terminated" || isPoweredOff(vm.state);
}

export async function waitUntilReady(client: Pick<ApiClient, "getVm">, first: Vm, options: WaitOptions): Promise<Vm> {
  const { timeoutMs, intervalMs = 1000, log, sleep = sleepMs, now = Date.now } = options;
  const deadline = now() + timeoutMs;
  let vm = first;
  let last = "";
  let unreachableSaid = false;
  for (;;) {
    const progress = describe(vm);
    if (progress !== last) log(progress);
    last = progress;
    if (isReady(vm)) return vm;
    if (isHopeless(vm)) {
      const why = isPoweredOff(vm.state) ? `it was stopped; start it with vgrid start ${vm.name}` : (vm.error ?? "the server gave no reason");
      throw new Failure(`${vmLabel(vm)} is ${vm.state}: ${why}`);
    }
    if (now() >= deadline) {
      throw new Failure(
        `${vmLabel(vm)} is still ${vm.state}${vm.state === "running" ? " but not responding" : ""} after ${timeoutMs / 1000} s; ` +
          `it was left as it is: follow it with \`vgrid show ${vm.id}\` or remove it with \`vgrid terminate ${vm.id}\``,
      );
    }
    await sleep(Math.max(0, Math.min(intervalMs, deadline - now())));
    try {
      vm = await client.getVm(vm.id);
    } catch (err) {
      // A server restarting under us is not the VM failing: keep trying until the deadline.
      if (!(err instanceof ConnectionError)) throw err;
      if (!unreachableSaid) log(`${err.message}; still trying`);
      unreachableSaid = true;
    }
  }
}

function describe(vm: Vm): string {
  if (isReady(vm)) return `${vm.name}: ready`;
  if (vm.state === "running") return `${vm.name}: running, waiting for its ssh to answer`;
  if (vm.state === "pending") return `${vm.name}: pending on ${vm.host}`;
  return `${vm.name}: ${vm.state}`;
}
