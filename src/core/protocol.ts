// The server <-> node protocol: the node long-polls its desired VMs and reports what is really there.
// Both sides validate against these schemas; every value a node sends is bounded, since the server
// shows it to users and admins.

import { Type, type Static } from "typebox";
import { ImageBootSchema } from "./image.js";
import { HOST_NAME_PATTERN } from "./names.js";
import { DESIRED_STATES, REPORTED_STATES } from "./vm-state.js";

export { ImageBootSchema, type ImageBoot } from "./image.js";

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
    desired: Type.Enum(DESIRED_STATES),
    /** With `desired: stopped`: stop it at once (QMP quit), without asking the guest to power down first. */
    forceStop: Type.Optional(Type.Boolean()),
    /**
     * A reboot its owner asked for and the node has not yet said it did: each is numbered, so that a
     * node reboots once per ask (it reports the highest number done as `rebooted`). `force`: a reset
     * (QMP system_reset) rather than a stop that asks the guest first, then a boot from its own disk.
     */
    reboot: Type.Optional(Type.Object({ generation: Type.Integer({ minimum: 1 }), force: Type.Boolean() }, { additionalProperties: false })),
    /** The id of the API request that deployed it: the node logs it with every line about the VM. */
    requestId: Type.Union([Type.String({ maxLength: 64 }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type VmSpec = Static<typeof VmSpecSchema>;

/** The longest reason a node may give for a VM; the owner reads it, so it is a sentence, not a log. */
export const MAX_ERROR_LENGTH = 1000;
/** The longest diagnostic a node may add for admins (QEMU's last words, paths). */
export const MAX_DETAIL_LENGTH = 8000;
/** A guest has a few host keys (ed25519, ecdsa, rsa); an RSA-8192 public key is about 1.4 KB. */
export const MAX_HOST_KEYS = 8;
export const MAX_HOST_KEY_LENGTH = 4096;
/** An IPv4 literal (each part 0-255) or an IPv6 one (hex groups between at least two colons), nothing else. */
const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
export const IP_PATTERN = `^(${OCTET}(\\.${OCTET}){3}|[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7})$`;

/** What a node reports about one VM it has (or had). */
export const VmReportSchema = Type.Object(
  {
    id: Type.String({ maxLength: 36 }),
    state: Type.Enum(REPORTED_STATES),
    responding: Type.Boolean(),
    /** The port forwarded to the guest's ssh on the node (user networking), or null. */
    sshPort: Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Null()]),
    /** The guest's own address, where the driver knows it. */
    ip: Type.Union([Type.String({ pattern: IP_PATTERN, maxLength: 39 }), Type.Null()]),
    /** Why the VM failed, in words its owner can act on. */
    error: Type.Union([Type.String({ maxLength: MAX_ERROR_LENGTH }), Type.Null()]),
    /** What the node saw, for admins only: paths, command lines, QEMU's stderr. */
    detail: Type.Union([Type.String({ maxLength: MAX_DETAIL_LENGTH }), Type.Null()]),
    /**
     * The guest's ssh host keys as it printed them at its first boot (`type base64`), once the node has
     * read them; the server keeps the first ones it hears of and never changes them after.
     */
    sshHostKeys: Type.Optional(Type.Array(Type.String({ maxLength: MAX_HOST_KEY_LENGTH }), { maxItems: MAX_HOST_KEYS })),
    /** The highest reboot number (VmSpec's `reboot.generation`) this node has carried out for the VM. */
    rebooted: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    /**
     * The last time this node booted again a VM whose image says restartOnCrash after its QEMU died:
     * when, why, and which restart it was, in words its owner reads. Each new one is a row of the VM's
     * history (the words stay in the reports that follow, so none is missed between two syncs).
     */
    crashRestart: Type.Optional(Type.String({ maxLength: MAX_ERROR_LENGTH })),
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

/** A node reports at most this many VMs per sync: far more than any host runs. */
export const MAX_REPORTS = 5000;

/** What the node says of its machine: shown to admins in /hosts beside the configured capacity. */
export const NodeFactsSchema = Type.Object(
  {
    // Bounded by what a machine could have, and by PostgreSQL's integer columns.
    memoryMiB: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }),
    cpus: Type.Integer({ minimum: 0, maximum: 1 << 20 }),
  },
  { additionalProperties: false },
);
export type NodeFacts = Static<typeof NodeFactsSchema>;

/**
 * The longest a node may ask the server to hold its long-poll; the server's socket timeouts are set
 * above it (server/api/app.ts), and a node's own request timeout too.
 */
export const MAX_WAIT_SECONDS = 60;

/**
 * The guest's serial console reaches the server in chunks: each sync carries, per VM, the bytes its
 * console gained since the position the server last acknowledged, at most this many, so that a
 * chatty guest costs the server a bounded write per sync (and the node a bounded read).
 */
export const MAX_CONSOLE_CHUNK_BYTES = 64 * 1024;
/** The node's console bytes of all its VMs in one sync, at most: the sync's body stays small. */
export const MAX_CONSOLE_BYTES_PER_SYNC = 256 * 1024;
/**
 * A run of a VM's console: the node names each run (a QEMU started anew writes its file from zero)
 * with a token of its own. Offsets count bytes from the start of a run.
 */
export const CONSOLE_STREAM_PATTERN = "^[A-Za-z0-9_-]{1,64}$";
/** The longest base64 text of a chunk: 4 characters for every 3 bytes, padded. */
const MAX_CONSOLE_CHUNK_BASE64 = 4 * Math.ceil(MAX_CONSOLE_CHUNK_BYTES / 3);

/** Where the server's copy of a VM's console ends: the run it heard last, and how far into it. */
export const ConsolePositionSchema = Type.Object(
  {
    id: Type.String({ maxLength: 36 }),
    stream: Type.String({ pattern: CONSOLE_STREAM_PATTERN }),
    offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);
export type ConsolePosition = Static<typeof ConsolePositionSchema>;
/** A place in a VM's console: `offset` bytes into its run `stream` (a position, without its VM). */
export type ConsolePlace = Pick<ConsolePosition, "stream" | "offset">;

/**
 * Bytes `offset` onwards of run `stream` of a VM's console, as the guest wrote them (base64: the guest
 * is untrusted and its bytes need not be text). A chunk the server already has is taken only for the
 * part beyond its position, so a retried sync never doubles text; one that leaves a gap is dropped,
 * and the sync's answer says where the server is.
 */
export const ConsoleChunkSchema = Type.Object(
  {
    ...ConsolePositionSchema.properties,
    data: Type.String({ minLength: 4, maxLength: MAX_CONSOLE_CHUNK_BASE64, pattern: "^[A-Za-z0-9+/]*={0,2}$" }),
  },
  { additionalProperties: false },
);
export type ConsoleChunk = Static<typeof ConsoleChunkSchema>;

/**
 * The largest sync body the server reads: the reports (256 KiB was the whole limit before consoles)
 * and MAX_CONSOLE_BYTES_PER_SYNC of console in base64, with room to spare.
 */
export const MAX_SYNC_BODY_BYTES = 1024 * 1024;

export const SyncRequestSchema = Type.Object(
  {
    node: Type.String({ pattern: HOST_NAME_PATTERN }),
    /** The desired-state version the node last saw; the server answers at once when it differs. */
    version: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /** Longest time the server may hold the request open, in seconds. */
    waitSeconds: Type.Integer({ minimum: 0, maximum: MAX_WAIT_SECONDS }),
    /** The address clients use to reach this node's forwarded ports: a host name or an IP literal. */
    sshHost: Type.String({ pattern: SSH_HOST_PATTERN, minLength: 1, maxLength: SSH_HOST_MAX_LENGTH }),
    facts: NodeFactsSchema,
    reports: Type.Array(VmReportSchema, { maxItems: MAX_REPORTS }),
    /**
     * New console output of the node's VMs, one chunk per VM at most. A node that sends the field
     * (even empty) is answered with `consoles`; an older node that sends none is not, since its schema
     * refuses unknown fields.
     */
    consoles: Type.Optional(Type.Array(ConsoleChunkSchema, { maxItems: MAX_REPORTS })),
  },
  { additionalProperties: false },
);
export type SyncRequest = Static<typeof SyncRequestSchema>;

export const SyncResponseSchema = Type.Object(
  {
    version: Type.Integer(),
    vms: Type.Array(VmSpecSchema),
    /** Where the server's copy of each listed VM's console ends; a VM it has none of is not here. */
    consoles: Type.Optional(Type.Array(ConsolePositionSchema)),
  },
  { additionalProperties: false },
);
export type SyncResponse = Static<typeof SyncResponseSchema>;

export const SYNC_PATH = "/api/v1/nodes/sync";
