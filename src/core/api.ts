// The public REST API's shapes (API.md), declared once: the server's routes validate against them and
// document them in OpenAPI, and the CLI's client is typed by them.

import { Type, type Static, type TSchema } from "typebox";
import { MAIL_KINDS, MAIL_STATES } from "./mail.js";
import { VM_STATES } from "./vm-state.js";

export { ImageSchema, type Image } from "./image.js";

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const SshEndpointSchema = Type.Object(
  { host: Type.String(), port: Type.Integer(), user: Type.String() },
  { additionalProperties: false },
);

export const SshHostKeySchema = Type.Object(
  {
    type: Type.String(),
    key: Type.String({ description: "the key's base64 blob, as in a known_hosts line" }),
    fingerprint: Type.String({ description: "as ssh-keygen -l prints it: SHA256:..." }),
  },
  { additionalProperties: false },
);
export type SshHostKey = Static<typeof SshHostKeySchema>;

export const VmSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String({ description: "hostname taken from the pool" }),
    owner: Type.String(),
    image: Type.String(),
    host: Type.String(),
    state: Type.Enum(VM_STATES),
    responding: Type.Boolean(),
    lastSeenAt: Nullable(Type.String()),
    memoryMiB: Type.Integer(),
    cpus: Type.Integer(),
    createdAt: Type.String(),
    expiresAt: Nullable(Type.String()),
    ssh: Nullable(SshEndpointSchema),
    ip: Nullable(Type.String()),
    mac: Nullable(Type.String()),
    /** Why the VM failed, in words its owner can act on. */
    error: Nullable(Type.String()),
    /** For admins only: what the node saw (its paths, QEMU's own words). */
    errorDetail: Type.Optional(Nullable(Type.String())),
    /** The guest's ssh host keys, read from the guest at its first boot; empty until then. */
    sshHostKeys: Type.Array(SshHostKeySchema),
    /** Who asked for its termination: a username, or the policy (`policy:expiry`); null until then. */
    terminatedBy: Nullable(Type.String()),
    /** When the server last changed it: of two copies of a VM (an event, an answer), the later one is the truth. */
    updatedAt: Type.String(),
    /** Why it is terminated, in words its owner reads; null until then, or when none was given. */
    reason: Nullable(Type.String()),
    /**
     * What its node is still doing at its owner's (or the policy's) request: `stopping` (stopped or
     * expired, its node not yet done stopping it), `rebooting` (a reboot its node has not yet done);
     * null otherwise. A stopped or expired VM is not "not responding": no liveness alarm is raised for it.
     */
    transition: Nullable(Type.Union([Type.Literal("stopping"), Type.Literal("rebooting")])),
  },
  { additionalProperties: false, $id: "Vm" },
);
export type Vm = Static<typeof VmSchema>;

/** One step of a VM's story (`GET /vms/{id}/history`): its state from then on, who or what moved it, and why. */
export const VmHistoryEntrySchema = Type.Object(
  {
    at: Type.String(),
    state: Type.Enum(VM_STATES),
    by: Type.String({ description: "a username, `node` for what the VM's node reported, or `policy:...`" }),
    detail: Nullable(Type.String({ description: "why, in words the owner can read: the reason given, the node's error..." })),
  },
  { additionalProperties: false },
);
export type VmHistoryEntry = Static<typeof VmHistoryEntrySchema>;

/** `POST /vms`. */
export const DeployRequestSchema = Type.Object(
  {
    image: Type.String({ minLength: 1, maxLength: 128 }),
    memoryMiB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1048576 })),
    cpus: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    hours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 87600 })),
    sshKeys: Type.Optional(Type.Array(Type.String({ maxLength: 16384 }), { minItems: 1, maxItems: 64 })),
  },
  { additionalProperties: false },
);
export type DeployRequest = Static<typeof DeployRequestSchema>;

/** The longest reason for a termination: a sentence or two for its owner, not a letter. */
export const MAX_REASON_LENGTH = 500;

/** `DELETE /vms/{id}`'s body, which may be left out: why, for the owner (an admin terminating another's VM gives it). */
export const TerminateRequestSchema = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_REASON_LENGTH, description: "why, in words the VM's owner reads" })) },
  { additionalProperties: false },
);
export type TerminateRequest = Static<typeof TerminateRequestSchema>;

/** `POST /vms/{id}/stop`, `/start`, `/reboot`, whose body may be left out. */
export const PowerRequestSchema = Type.Object(
  {
    force: Type.Optional(
      Type.Boolean({ description: "stop: quit at once without asking the guest to power down; reboot: a reset (QMP system_reset); start: nothing to force" }),
    ),
  },
  { additionalProperties: false },
);
export type PowerRequest = Static<typeof PowerRequestSchema>;

/** `POST /vms/{id}/extend`. */
export const ExtendRequestSchema = Type.Object({ hours: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false });
export type ExtendRequest = Static<typeof ExtendRequestSchema>;

/** `PATCH /vms/{id}` (admin): any expiry, or none (null). */
export const PatchVmRequestSchema = Type.Object(
  { expiresAt: Type.Union([Type.String({ format: "date-time", maxLength: 40 }), Type.Null()]) },
  { additionalProperties: false },
);
export type PatchVmRequest = Static<typeof PatchVmRequestSchema>;

/** `GET /vms/{id}/log` answers the newest this many bytes of a VM's boot log (its serial console) at most. */
export const MAX_VM_LOG_BYTES = 1024 * 1024;

/** A page of a list is at most this long; a list's default page. */
export const MAX_PAGE = 5000;
export const DEFAULT_PAGE = 500;

/**
 * What every list takes: `limit` (as text: query strings are never coerced) and the `cursor` a previous
 * page gave as `next`, passed back with the same filters.
 */
export const PageQuery = {
  limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,9}$", description: `at most ${MAX_PAGE}; ${DEFAULT_PAGE} when not given` })),
  cursor: Type.Optional(Type.String({ maxLength: 1000, description: "the `next` of the previous page" })),
};
export const PageQuerySchema = Type.Object(PageQuery, { additionalProperties: false });
export type PageRequest = Static<typeof PageQuerySchema>;

/** `GET /vms`' query. Query strings are text, and nothing is coerced: so "true" and "false" are spelled out. */
export const VmListQuerySchema = Type.Object(
  {
    all: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false")])),
    /** One state only (`terminated` for the history); without it, every VM not terminated. */
    state: Type.Optional(Type.Enum(VM_STATES)),
    /** An admin's filters (with all=true); for others, their own VMs anyway. */
    owner: Type.Optional(Type.String({ maxLength: 64 })),
    host: Type.Optional(Type.String({ maxLength: 63 })),
    image: Type.Optional(Type.String({ maxLength: 128 })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type VmListQuery = Static<typeof VmListQuerySchema>;

export const MeSchema = Type.Object({
  username: Type.String(),
  admin: Type.Boolean(),
  /** null: no limit. What counts is every VM that holds a slot on a host (failed and terminating ones too). */
  quota: Type.Object({
    maxVms: Nullable(Type.Integer()),
    used: Type.Integer(),
    maxMemoryMiB: Nullable(Type.Integer()),
    usedMemoryMiB: Type.Integer(),
    maxCpus: Nullable(Type.Integer()),
    usedCpus: Type.Integer(),
  }),
  /** server.toml's `[expiry]`: a VM's life when none is asked, and the furthest from now it may be pushed. */
  limits: Type.Object({
    defaultHours: Type.Number(),
    maxHours: Type.Number(),
  }),
  /** Room in the cluster now: the VMs its online hosts can still take, by their VM limits. */
  capacity: Type.Object({ freeVms: Type.Integer() }),
  sshKeys: Type.Array(Type.String()),
});
export type Me = Static<typeof MeSchema>;

/** `PUT /me/ssh-keys`, and its answer. */
export const SshKeysSchema = Type.Object(
  { keys: Type.Array(Type.String({ maxLength: 16384 }), { maxItems: 64 }) },
  { additionalProperties: false },
);
export type SshKeys = Static<typeof SshKeysSchema>;

export const TokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
});
export type Token = Static<typeof TokenSchema>;

/** A token lasts this long unless asked otherwise (90 days), and at most this long (10 years); 0 is never. */
export const DEFAULT_TOKEN_HOURS = 2160;
export const MAX_TOKEN_HOURS = 87600;

/** `POST /tokens`, and its answer: the only time the secret is shown. */
export const CreateTokenRequestSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    expiresInHours: Type.Optional(
      Type.Number({ minimum: 0, maximum: MAX_TOKEN_HOURS, description: `hours until it stops working; ${DEFAULT_TOKEN_HOURS} when not given, 0 for never` }),
    ),
  },
  { additionalProperties: false },
);
export type CreateTokenRequest = Static<typeof CreateTokenRequestSchema>;
export const CreatedTokenSchema = Type.Object({ ...TokenSchema.properties, token: Type.String() });
export type CreatedToken = Static<typeof CreatedTokenSchema>;

/** A host of the pool as an admin sees it: its configured limits, what is used, and what its node reports. */
export const HostSchema = Type.Object({
  name: Type.String(),
  online: Type.Boolean(),
  /** Gone from server.toml: it takes no VM and its node is refused; the VMs still placed there are listed. */
  removed: Type.Boolean(),
  maxVms: Type.Integer(),
  vms: Type.Integer(),
  /** Schedulable memory and cpus: configured, times the overcommit ratios. */
  memoryMiB: Type.Integer(),
  usedMemoryMiB: Type.Integer(),
  cpus: Type.Integer(),
  usedCpus: Type.Integer(),
  /** What the node last said the machine has, or null before its first sync. */
  node: Nullable(Type.Object({ memoryMiB: Type.Integer(), cpus: Type.Integer() })),
  lastSeenAt: Nullable(Type.String()),
});
export type Host = Static<typeof HostSchema>;

/** An entry of the hostname pool (admin). */
export const HostnameSchema = Type.Object({
  name: Type.String(),
  mac: Type.String(),
  extra: Type.String(),
  /** The VM holding the name, or null when it is free. */
  vmId: Nullable(Type.String()),
});
export type Hostname = Static<typeof HostnameSchema>;

/** `GET /audit`'s query (admin): each filter exact, `q` a search, all of them together, newest first. */
export const AuditQuerySchema = Type.Object(
  {
    actor: Type.Optional(Type.String({ maxLength: 128 })),
    action: Type.Optional(Type.String({ maxLength: 64 })),
    target: Type.Optional(Type.String({ maxLength: 128 })),
    q: Type.Optional(
      Type.String({
        maxLength: 200,
        description: "text found anywhere in actor, action, target or detail; A-Z in either case; % and _ are matched as written",
      }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuerySchema>;

/** One row of the audit log: who did what, when, from which address; never a secret. */
export const AuditEntrySchema = Type.Object({
  at: Type.String(),
  actor: Type.String(),
  action: Type.String({ description: "area.verb: auth.login, vm.deploy, token.create..." }),
  target: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  detail: Nullable(Type.String()),
});
export type AuditEntry = Static<typeof AuditEntrySchema>;

/** `GET /outbox`'s query (admin): each filter exact, all of them together, newest first. */
export const OutboxQuerySchema = Type.Object(
  {
    state: Type.Optional(Type.Enum(MAIL_STATES)),
    kind: Type.Optional(Type.Enum(MAIL_KINDS)),
    vmId: Type.Optional(Type.String({ maxLength: 64, description: "the mails about this VM" })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type OutboxQuery = Static<typeof OutboxQuerySchema>;

/** One mail of the outbox (admin): to whom, about what, and how its sending goes; never its body, never a secret. */
export const OutboxEntrySchema = Type.Object({
  id: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  kind: Type.Enum(MAIL_KINDS),
  vmId: Nullable(Type.String()),
  state: Type.Enum(MAIL_STATES, { description: "queued (waiting, or to be tried again), sent, or failed (given up: lastError says why)" }),
  attempts: Type.Integer({ description: "tries so far" }),
  lastError: Nullable(Type.String({ description: "why the last try failed, in words; kept once the mail is sent" })),
  createdAt: Type.String(),
  sentAt: Nullable(Type.String()),
});
export type OutboxEntry = Static<typeof OutboxEntrySchema>;

/** `{items: [...], next?}`: the shape of every list; `next` is there only when more remain. */
export function ListOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next: Type.Optional(Type.String({ description: "pass back as ?cursor= for the next page" })) });
}

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    field: Type.Optional(Type.String()),
  },
  { $id: "Problem" },
);
export type Problem = Static<typeof ProblemSchema>;
