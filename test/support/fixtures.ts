// Sample values the tests share: a vm object as the API answers it, with what each test changes.

import type { Vm } from "../../src/core/api.js";

/** A vm object: a pending tiny VM of alice's on `local`, with `fields` over it. */
export function sampleVm(fields: Partial<Vm> = {}): Vm {
  return {
    id: "7f3c0000-0000-4000-8000-000000000001",
    name: "vm-003",
    owner: "alice",
    image: "tiny",
    host: "local",
    state: "pending",
    responding: false,
    lastSeenAt: null,
    memoryMiB: 256,
    cpus: 1,
    createdAt: "2030-01-01T12:00:00Z",
    expiresAt: null,
    ssh: null,
    ip: null,
    mac: null,
    error: null,
    sshHostKeys: [],
    ...fields,
  };
}
