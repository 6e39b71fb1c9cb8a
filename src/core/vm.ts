// The vm object of the public API and the states a VM goes through.

import { Type, type Static } from "typebox";

export const VM_STATES = ["pending", "provisioning", "running", "terminating", "terminated", "failed"] as const;
export type VmState = (typeof VM_STATES)[number];

/** States in which a VM still holds its host slot and its hostname. */
export const HOLDING_STATES: readonly VmState[] = ["pending", "provisioning", "running", "terminating", "failed"];

export const SshEndpoint = Type.Object(
  { host: Type.String(), port: Type.Integer(), user: Type.String() },
  { additionalProperties: false },
);

export const VmSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String({ description: "hostname taken from the pool" }),
    owner: Type.String(),
    image: Type.String(),
    host: Type.String(),
    state: Type.Union([
      Type.Literal("pending"),
      Type.Literal("provisioning"),
      Type.Literal("running"),
      Type.Literal("terminating"),
      Type.Literal("terminated"),
      Type.Literal("failed"),
    ]),
    responding: Type.Boolean(),
    lastSeenAt: Type.Union([Type.String(), Type.Null()]),
    memoryMiB: Type.Integer(),
    cpus: Type.Integer(),
    createdAt: Type.String(),
    expiresAt: Type.Union([Type.String(), Type.Null()]),
    ssh: Type.Union([SshEndpoint, Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    mac: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false, $id: "Vm" },
);
export type Vm = Static<typeof VmSchema>;

export const ImageSchema = Type.Object(
  {
    tag: Type.String(),
    name: Type.String(),
    minMemoryMiB: Type.Integer(),
    maxMemoryMiB: Type.Integer(),
    defaultMemoryMiB: Type.Integer(),
    maxCpus: Type.Integer(),
    boot: Type.Union([Type.Literal("direct"), Type.Literal("disk")]),
  },
  { additionalProperties: false },
);
export type Image = Static<typeof ImageSchema>;
