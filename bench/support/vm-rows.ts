// VM rows written straight into a store, for benchmarks of what the control plane does with many VMs
// (the due selection, the policy pass): VM n of user `bench` on host h1, with its own id and MAC.

import type { NewVm } from "../../src/server/store/schema.js";

/** The id of bench VM `n`: a well-formed UUID, in the order of n. */
export const benchVmId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/** Bench VM `n`, running, created a month before `now`; `over` sets its state, expiry and the rest. */
export function benchVmRow(n: number, now: number, over: Partial<NewVm>): NewVm {
  return {
    id: benchVmId(n),
    name: `vm-${n}`,
    owner: "bench",
    image: "tiny",
    host: "h1",
    state: "running",
    responding: 1,
    last_seen_at: null,
    memory_mib: 128,
    cpus: 1,
    created_at: new Date(now - 30 * 86_400_000).toISOString(),
    expires_at: null,
    ssh_port: null,
    ip: null,
    mac: `52:54:00:${[n >> 16, (n >> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, "0")).join(":")}`,
    error: null,
    error_detail: null,
    ssh_host_keys: null,
    ssh_keys: "[]",
    updated_at: new Date(now).toISOString(),
    request_id: null,
    terminated_by: null,
    termination_reason: null,
    ...over,
  };
}
