// Sample values the tests share: a vm object as the API answers it, with what each test changes.

import type { Vm } from "../../src/core/api.js";
import type { VmSpec } from "../../src/core/protocol.js";

/** A VM as the server asks a node for it: alice's vm-003 of the tiny image, with `fields` over it. */
export function sampleSpec(fields: Partial<VmSpec> = {}): VmSpec {
  return {
    id: "7f3c0a1e-1111-4222-8333-944445555666",
    machineName: "vgrid-7f3c0a1e-111",
    hostname: "vm-003",
    extra: "",
    mac: "52:54:00:12:34:56",
    owner: "alice",
    memoryMiB: 256,
    cpus: 1,
    sshKeys: [],
    image: { tag: "tiny", disk: "tiny.qcow2", kernel: null, initrd: null, cmdline: null },
    desired: "running",
    requestId: null,
    ...fields,
  };
}

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
    terminatedBy: null,
    updatedAt: "2030-01-01T00:00:00.000Z",
    reason: null,
    transition: null,
    ...fields,
  };
}
