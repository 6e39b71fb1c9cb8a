// The store's tables, one interface each, and the Database that Kysely is typed with.

import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

export interface UserTable {
  name: string;
  /** Promoted in the store (`vgrid token create --admin`): an admin until `vgrid user set NAME --no-admin`. */
  admin: number;
  /** Listed in server.toml's `admins`: set at every start from the file, so it ends when the file drops them. */
  config_admin: number;
  /** JSON array of OpenSSH public keys. */
  ssh_keys: string;
  /** Per-user VM limit; null means the server's default. */
  max_vms: number | null;
  created_at: string;
  /** How the user came: "cli" (made on the server machine: stands on its own) or a login mode's name. */
  origin: Generated<string>;
  /** JSON array: the groups the single sign-on said at the user's last login (for [auth.allow] groups). */
  groups: Generated<string>;
}

export interface TokenTable {
  id: string;
  user_name: string;
  name: string;
  /** The secret's keyed hash (secrets.ts), hex: the secret itself is never stored. */
  hash: string;
  created_at: string;
  expires_at: string | null;
}

export interface ImageTable {
  tag: string;
  name: string;
  /** What it is for, shown beside the name; null when the catalog entry has none. */
  description: string | null;
  boot: "direct" | "disk";
  disk: string;
  kernel: string | null;
  initrd: string | null;
  cmdline: string | null;
  min_memory_mib: number;
  default_memory_mib: number;
  max_memory_mib: number;
  max_cpus: number;
  /** 1: a VM of it whose QEMU died is started again by its node (a bounded number of times). */
  restart_on_crash: Generated<number>;
  /** The lifetime of its VMs unless asked, and the most an owner may give them (with [expiry]'s); null: [expiry]'s. */
  default_hours: number | null;
  max_hours: number | null;
  /** null for the catalog's public images. */
  owner: string | null;
  /** When server.toml stopped naming it: it can no longer be deployed; the VMs made from it keep it. */
  removed_at: string | null;
}

export interface HostTable {
  name: string;
  max_vms: number;
  memory_mib: number;
  cpus: number;
  /** The node's token's keyed hash (secrets.ts), hex; empty once the host is removed, so that no token matches. */
  token_hash: string;
  /** Bumped in the same transaction as any change of what should run on the host. */
  desired_version: number;
  last_seen_at: string | null;
  /** The address clients use to reach the node's forwarded ssh ports. */
  ssh_host: string | null;
  /** What the node last said its machine has (memory and cpus), or null before its first sync. */
  node_memory_mib: number | null;
  node_cpus: number | null;
  /** When server.toml stopped naming it: its node is refused and it takes no VM; its VMs stay listed. */
  removed_at: string | null;
  /** What the VMs that hold a slot here use, kept in the transactions that take and give back slots. */
  vm_count: number;
  used_memory_mib: number;
  used_cpus: number;
  /** vm_count over max_vms (1 when max_vms is 0): placement takes the least loaded host first. */
  load: number;
  /** 1 while its node syncs; 0 once it has been silent longer than nodeOfflineAfterSeconds (or removed). */
  online: number;
}

export interface HostnameTable {
  name: string;
  /** The seed's VirtualHostsPool value, ${vmExtra} in templates. */
  extra: string;
  mac: string;
  /** The VM holding this name, or null when free. */
  vm_id: string | null;
  /** When server.toml stopped naming it: never handed out again, deleted once its VM lets it go. */
  removed_at: string | null;
}

export interface VmTable {
  id: string;
  name: string;
  owner: string;
  image: string;
  host: string;
  state: string;
  responding: number;
  last_seen_at: string | null;
  memory_mib: number;
  cpus: number;
  created_at: string;
  expires_at: string | null;
  ssh_port: number | null;
  ip: string | null;
  mac: string;
  /** Why the VM failed, for its owner. */
  error: string | null;
  /** What the node saw, for admins only. */
  error_detail: string | null;
  /** JSON array of the guest's ssh host keys (`type base64`), as first reported; null until then. */
  ssh_host_keys: string | null;
  /** JSON array of the keys given to the VM at deploy time. */
  ssh_keys: string;
  updated_at: string;
  /** The API request that deployed it, for the logs of the server and its node. */
  request_id: string | null;
  /** Who asked for its termination (a username, or `policy:...`); null until someone did. */
  terminated_by: string | null;
  /** Why, in words the owner reads; null when none was given. */
  termination_reason: string | null;
  /** The state its node last reported (protocol's REPORTED_STATES): a stopped VM still `running` there is being stopped. */
  node_state: string | null;
  /** The node's words of its last restart of the VM after a crash (restartOnCrash); null if none. */
  crash_restart: string | null;
  /** 1 when the last stop asked was forced: its node quits QEMU without asking the guest first. */
  force_stop: Generated<number>;
  /** Reboots asked, numbered from 1; its node reports the highest it carried out (`reboot_done`). */
  reboot_asked: Generated<number>;
  reboot_done: Generated<number>;
  /** 1 when the last reboot asked was forced (a reset). */
  reboot_force: Generated<number>;
  /** When the policy pass next has something to do for it (a warning, its expiry, its grace's end); null: nothing. */
  policy_at: Generated<string | null>;
  /** The expiry the last warning mail announced: the VM is never terminated before it. */
  warned_expires_at: Generated<string | null>;
  /** When it had last answered, as the not-responding mail sent for it said; null when none is outstanding. */
  silence_mailed: Generated<string | null>;
}

export interface AuditTable {
  id: Generated<number>;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  address: string | null;
  detail: string | null;
}

/** One step of a VM's story: a change of its state (or of its expiry, the state unchanged). */
export interface VmHistoryTable {
  id: Generated<number>;
  vm_id: string;
  at: string;
  /** The VM's state from then on. */
  state: string;
  /** Who or what: a username, `node` (what the node reported), or `policy:...`. */
  actor: string;
  /** Why, in words the owner can read: the reason given, the node's error; null when nothing more. */
  detail: string | null;
}

/** A browser's session: the cookie holds the secret, the store its hash. */
export interface SessionTable {
  hash: string;
  user_name: string;
  /** The login mode that opened it: htpasswd, proxy, oidc, cert, link. */
  via: string;
  /** An admin for this session only (a member of the single sign-on's adminGroups). */
  admin: number;
  address: string | null;
  created_at: string;
  last_seen_at: string;
  /** The absolute end, whatever the use. */
  expires_at: string;
}

/** A one-time login link (`vgrid login-link`): used once, within its time. */
export interface LoginLinkTable {
  hash: string;
  user_name: string;
  admin: number;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** A one-time extend link of an expiry mail: the VM and the expiry it extends, used once. */
export interface ExtendLinkTable {
  /** The secret's keyed hash (secrets.ts). */
  hash: string;
  vm_id: string;
  expires_at: string;
  created_at: string;
  used_at: string | null;
}

/** Who runs a periodic job now: the replica whose lease has not expired. */
export interface LeaseTable {
  name: string;
  /** The replica's id (random, per process). */
  holder: string;
  expires_at: string;
}

/** Keys the server keeps in its store, by name: `secrets` (of secrets' hashes), `oidc-flow` (seals logins under way). */
export interface StoreKeyTable {
  name: string;
  /** Hex. */
  key: string;
}

/** A bigint column: PostgreSQL's driver reads it as a string, SQLite's as a number. */
type BigIntColumn = ColumnType<number | string, number, number>;

/**
 * A piece of a VM's boot log (its serial console, as its node shipped it). The pieces of a VM follow
 * each other without a gap: each starts where the one before ends.
 */
export interface VmLogChunkTable {
  vm_id: string;
  /** Where `data` starts in the VM's whole log (every run of its console, one after the other), in bytes. */
  log_start: BigIntColumn;
  /** log_start plus the length of `data`. */
  log_end: BigIntColumn;
  /** The console run (named by the node) that the last byte of `data` came from. */
  stream: string;
  /** Where in that run `data` ends, in bytes: where the node goes on from. */
  stream_end: BigIntColumn;
  /** The guest's bytes as received, never interpreted (they need not be UTF-8). */
  data: Buffer;
}

/** A mail to send, or sent: see store/outbox.ts. */
export interface MailOutboxTable {
  id: Generated<number>;
  /** Once per key ever: the mail's Message-ID is made from it. */
  key: string;
  kind: string;
  vm_id: string | null;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  /** queued, sent or failed (failed: given up; a failed attempt that will be retried stays queued). */
  state: string;
  attempts: number;
  last_error: string | null;
  /** When the sender may try it (again): backoff after a failure. */
  next_attempt_at: string;
  created_at: string;
  sent_at: string | null;
}

export interface Database {
  users: UserTable;
  tokens: TokenTable;
  images: ImageTable;
  hosts: HostTable;
  hostnames: HostnameTable;
  vms: VmTable;
  audit: AuditTable;
  vm_history: VmHistoryTable;
  leases: LeaseTable;
  sessions: SessionTable;
  login_links: LoginLinkTable;
  store_keys: StoreKeyTable;
  vm_log_chunks: VmLogChunkTable;
  mail_outbox: MailOutboxTable;
  extend_links: ExtendLinkTable;
}

export type UserRow = Selectable<UserTable>;
export type ImageRow = Selectable<ImageTable>;
export type HostRow = Selectable<HostTable>;
export type VmRow = Selectable<VmTable>;
export type NewVm = Insertable<VmTable>;
export type NewAudit = Insertable<AuditTable>;
