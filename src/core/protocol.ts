// The server <-> node protocol: the node long-polls its desired VMs and reports what is really there.
// Both sides validate against these schemas.

import { Type, type Static } from "typebox";

/** How a node boots an image: file names relative to the node's image directory, never paths from users. */
export const ImageBootSchema = Type.Object(
  {
    tag: Type.String(),
    disk: Type.String(),
    kernel: Type.Union([Type.String(), Type.Null()]),
    initrd: Type.Union([Type.String(), Type.Null()]),
    /** Template of the kernel command line (direct boot), with the seed's variables such as ${username}. */
    cmdline: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
export type ImageBoot = Static<typeof ImageBootSchema>;

/** One VM as the server wants it on a node. */
export const VmSpecSchema = Type.Object(
  {
    id: Type.String(),
    machineName: Type.String(),
    hostname: Type.String(),
    /** The hostname pool's extra value for this name (the seed's ${vmExtra}). */
    extra: Type.String(),
    mac: Type.String(),
    owner: Type.String(),
    memoryMiB: Type.Integer(),
    cpus: Type.Integer(),
    sshKeys: Type.Array(Type.String()),
    image: ImageBootSchema,
    /**
     * running: make it run. stopped: it failed; stop it but keep its files (console and QEMU logs) for
     * diagnosis while it holds its slot and hostname. terminated: stop it and delete every file of it.
     */
    desired: Type.Union([Type.Literal("running"), Type.Literal("stopped"), Type.Literal("terminated")]),
  },
  { additionalProperties: false },
);
export type VmSpec = Static<typeof VmSpecSchema>;

/** What a node reports about one VM it has (or had). */
export const VmReportSchema = Type.Object(
  {
    id: Type.String(),
    state: Type.Union([
      Type.Literal("provisioning"),
      Type.Literal("running"),
      Type.Literal("terminated"),
      Type.Literal("failed"),
    ]),
    responding: Type.Boolean(),
    sshPort: Type.Union([Type.Integer(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
export type VmReport = Static<typeof VmReportSchema>;

/**
 * A host name or an IP literal, the only kind of text a node may give as the address clients reach it
 * on: it becomes `vm.ssh.host`, which `vgrid ssh` hands to ssh, so it must never read as an option
 * (no leading '-') nor carry spaces, '=', '@' or quotes. 253 is the longest DNS name.
 */
export const SSH_HOST_PATTERN = "^[A-Za-z0-9:][A-Za-z0-9.:-]*$";
export const SSH_HOST_MAX_LENGTH = 253;
const SSH_HOST = new RegExp(SSH_HOST_PATTERN);

/** Whether `text` is an address the server may show users as their VM's ssh host. */
export function isSafeSshHost(text: string): boolean {
  return text.length <= SSH_HOST_MAX_LENGTH && SSH_HOST.test(text);
}

export const SyncRequestSchema = Type.Object(
  {
    node: Type.String(),
    /** The desired-state version the node last saw; the server answers at once when it differs. */
    version: Type.Integer(),
    /** Longest time the server may hold the request open, in seconds. */
    waitSeconds: Type.Integer({ minimum: 0, maximum: 60 }),
    /** The address clients use to reach this node's forwarded ports: a host name or an IP literal. */
    sshHost: Type.String({ pattern: SSH_HOST_PATTERN, minLength: 1, maxLength: SSH_HOST_MAX_LENGTH }),
    capacity: Type.Object(
      { memoryMiB: Type.Integer(), cpus: Type.Integer() },
      { additionalProperties: false },
    ),
    reports: Type.Array(VmReportSchema),
  },
  { additionalProperties: false },
);
export type SyncRequest = Static<typeof SyncRequestSchema>;

export const SyncResponseSchema = Type.Object(
  { version: Type.Integer(), vms: Type.Array(VmSpecSchema) },
  { additionalProperties: false },
);
export type SyncResponse = Static<typeof SyncResponseSchema>;

export const SYNC_PATH = "/api/v1/nodes/sync";
