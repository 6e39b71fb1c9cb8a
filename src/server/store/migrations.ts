// Migrations, frozen in time: they use Kysely<any> and never import app types.

import { createHmac, randomBytes } from "node:crypto";
import { PostgresAdapter, sql, type Kysely } from "kysely";
import type { Migration, MigrationProvider } from "kysely/migration";

/* eslint-disable @typescript-eslint/no-explicit-any */
const isPostgres = (db: Kysely<any>) => db.getExecutor().adapter instanceof PostgresAdapter;

const migrations: Record<string, Migration> = {
  "2026-11-26T00-initial": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("users")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("admin", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("ssh_keys", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("max_vms", "integer")
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_name", "text", (c) => c.notNull().references("users.name"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text")
        .execute();
      await db.schema
        .createTable("images")
        .addColumn("tag", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("boot", "text", (c) => c.notNull())
        .addColumn("disk", "text", (c) => c.notNull())
        .addColumn("kernel", "text")
        .addColumn("initrd", "text")
        .addColumn("cmdline", "text")
        .addColumn("min_memory_mib", "integer", (c) => c.notNull())
        .addColumn("default_memory_mib", "integer", (c) => c.notNull())
        .addColumn("max_memory_mib", "integer", (c) => c.notNull())
        .addColumn("max_cpus", "integer", (c) => c.notNull())
        .addColumn("owner", "text")
        .execute();
      await db.schema
        .createTable("hosts")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("max_vms", "integer", (c) => c.notNull())
        .addColumn("memory_mib", "integer", (c) => c.notNull())
        .addColumn("cpus", "integer", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull())
        .addColumn("desired_version", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("last_seen_at", "text")
        .addColumn("ssh_host", "text")
        .execute();
      await db.schema
        .createTable("hostnames")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("extra", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("mac", "text", (c) => c.notNull())
        .addColumn("vm_id", "text", (c) => c.unique())
        .execute();
      await db.schema
        .createTable("vms")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("owner", "text", (c) => c.notNull().references("users.name"))
        .addColumn("image", "text", (c) => c.notNull())
        .addColumn("host", "text", (c) => c.notNull().references("hosts.name"))
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("responding", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("last_seen_at", "text")
        .addColumn("memory_mib", "integer", (c) => c.notNull())
        .addColumn("cpus", "integer", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text")
        .addColumn("ssh_port", "integer")
        .addColumn("ip", "text")
        .addColumn("mac", "text", (c) => c.notNull())
        .addColumn("error", "text")
        .addColumn("ssh_keys", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("vms_host_state").on("vms").columns(["host", "state"]).execute();
      await db.schema.createIndex("vms_owner_state").on("vms").columns(["owner", "state"]).execute();
      await db.schema
        .createTable("audit")
        // SQLite's integer primary key autoincrement is PostgreSQL's serial.
        .addColumn("id", isPostgres(db) ? "serial" : "integer", (c) => (isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("at", "text", (c) => c.notNull())
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("target", "text")
        .addColumn("address", "text")
        .execute();
    },
  },
  // The config file is the truth: what server.toml stops naming is marked removed rather than kept as if
  // listed; admins from the file are told apart from those promoted in the store. Node facts and an
  // admin-only diagnostic beside the owner's error; the guest's ssh host keys.
  "2026-12-01T00-config-truth": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("hosts").addColumn("removed_at", "text").execute();
      await db.schema.alterTable("hosts").addColumn("node_memory_mib", "integer").execute();
      await db.schema.alterTable("hosts").addColumn("node_cpus", "integer").execute();
      await db.schema.alterTable("images").addColumn("removed_at", "text").execute();
      await db.schema.alterTable("hostnames").addColumn("removed_at", "text").execute();
      await db.schema.alterTable("users").addColumn("config_admin", "integer", (c) => c.notNull().defaultTo(0)).execute();
      // Until now the start-up sync and `token create --admin` both wrote `admin`: count them as the
      // file's, so that the next start keeps exactly the admins server.toml lists.
      await db.updateTable("users").set({ config_admin: sql`admin`, admin: 0 }).execute();
      await db.schema.alterTable("vms").addColumn("error_detail", "text").execute();
      await db.schema.alterTable("vms").addColumn("ssh_host_keys", "text").execute();
      await db.schema.alterTable("audit").addColumn("detail", "text").execute();
    },
  },
  // The deploy path must not scan every host or every VM: each host row keeps its own use, updated in
  // the transactions that take and give back a slot, and an `online` flag that placement's index
  // leads with. `load` (VMs over max VMs) orders placement, least loaded first.
  "2026-12-01T01-host-usage": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("hosts").addColumn("vm_count", "integer", (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable("hosts").addColumn("used_memory_mib", "integer", (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable("hosts").addColumn("used_cpus", "integer", (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable("hosts").addColumn("load", "real", (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable("hosts").addColumn("online", "integer", (c) => c.notNull().defaultTo(0)).execute();
      const holding = ["pending", "provisioning", "running", "terminating", "failed"];
      const use = await db
        .selectFrom("vms")
        .select(["host", (eb) => eb.fn.countAll().as("n"), (eb) => eb.fn.sum("memory_mib").as("memory"), (eb) => eb.fn.sum("cpus").as("cpus")])
        .where("state", "in", holding)
        .groupBy("host")
        .execute();
      for (const row of use) {
        await db
          .updateTable("hosts")
          .set({ vm_count: Number(row.n), used_memory_mib: Number(row.memory), used_cpus: Number(row.cpus) })
          .where("name", "=", row.host)
          .execute();
      }
      await db
        .updateTable("hosts")
        .set({ load: sql`case when max_vms > 0 then vm_count * 1.0 / max_vms else 1 end` })
        .execute();
      await db.schema.createIndex("hosts_placement").on("hosts").columns(["online", "load", "name"]).execute();
      // The free names of the pool, in the order they are handed out: the first is one index row away,
      // however many of a hundred thousand are taken.
      await db.schema
        .createIndex("hostnames_free")
        .on("hostnames")
        .column("name")
        .where(sql.ref("vm_id"), "is", null)
        .where(sql.ref("removed_at"), "is", null)
        .execute();
      await db.schema.createIndex("vms_created").on("vms").columns(["created_at", "id"]).execute();
      // A user's VMs in pages, and their count for a quota: (owner, state) is no longer needed for it.
      await db.schema.createIndex("vms_owner_created").on("vms").columns(["owner", "created_at", "id"]).execute();
      await db.schema.dropIndex("vms_owner_state").execute();
      // The id of the request that deployed a VM: it follows the VM into its node's log and back.
      await db.schema.alterTable("vms").addColumn("request_id", "text").execute();
      // Periodic work runs on one replica at a time: the one whose lease row is current.
      await db.schema
        .createTable("leases")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "2026-12-01T02-due-and-taken-names": {
    // The policy pass asks which live VMs expire (or must be warned) before a time: the first of them
    // is one index row away, however many VMs there are; terminated ones are not in the index at all.
    async up(db: Kysely<any>) {
      await db.schema
        .createIndex("vms_due")
        .on("vms")
        .columns(["expires_at", "id"])
        .where(sql.ref("state"), "!=", "terminated")
        .execute();
      // The name a VM holds, read on every node sync. The unique index on vm_id does not do: SQLite's
      // statistics count its nulls (every free name) as one value, so its planner believed a lookup
      // there returned the whole pool and scanned the pool for each VM of the sync instead.
      await db.schema
        .createIndex("hostnames_vm")
        .on("hostnames")
        .column("vm_id")
        .where(sql.ref("vm_id"), "is not", null)
        .execute();
    },
  },
  "2026-12-01T03-logins": {
    // Browser sessions and one-time login links: only hashes of their secrets are kept. A user
    // remembers how they came (`origin`): one made on the server machine (`vgrid token create`,
    // `vgrid login-link`) stands on its own, one that came through a login mode answers to its
    // directory (the password file); `groups` are those the single sign-on said at the last login.
    async up(db: Kysely<any>) {
      await db.schema.alterTable("users").addColumn("origin", "text", (c) => c.notNull().defaultTo("cli")).execute();
      await db.schema.alterTable("users").addColumn("groups", "text", (c) => c.notNull().defaultTo("[]")).execute();
      await db.schema
        .createTable("sessions")
        .addColumn("hash", "text", (c) => c.primaryKey())
        .addColumn("user_name", "text", (c) => c.notNull().references("users.name"))
        .addColumn("via", "text", (c) => c.notNull())
        .addColumn("admin", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("address", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_seen_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("sessions_user").on("sessions").column("user_name").execute();
      await db.schema.createIndex("sessions_expires").on("sessions").column("expires_at").execute();
      await db.schema
        .createTable("login_links")
        .addColumn("hash", "text", (c) => c.primaryKey())
        .addColumn("user_name", "text", (c) => c.notNull().references("users.name"))
        .addColumn("admin", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("used_at", "text")
        .execute();
      await db.schema.createIndex("audit_actor").on("audit").columns(["actor", "id"]).execute();
      await db.schema.createIndex("audit_action").on("audit").columns(["action", "id"]).execute();
      await db.schema.createIndex("audit_target").on("audit").columns(["target", "id"]).execute();
    },
  },
  // Secrets' hashes keyed: an HMAC under a random key of this store's, of the sha256 kept until now, so
  // that every token and node secret goes on working and a copy of the hashes matches no precomputed
  // table. Node secrets are looked up by their hash now, before the request's body says whose they are.
  "2026-12-02T00-keyed-secret-hashes": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("store_keys")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("key", "text", (c) => c.notNull())
        .execute();
      const key = randomBytes(32);
      const keyed = (hash: string) => createHmac("sha256", key).update(hash).digest("hex");
      // One transaction: a crash halfway must not leave some hashes keyed and others not. (Kysely runs
      // PostgreSQL's migrations in one already; SQLite's not.)
      const work = async (tx: Kysely<any>) => {
        await tx.insertInto("store_keys").values({ name: "secrets", key: key.toString("hex") }).execute();
        for (const t of await tx.selectFrom("tokens").select(["id", "hash"]).execute()) {
          await tx.updateTable("tokens").set({ hash: keyed(t.hash as string) }).where("id", "=", t.id).execute();
        }
        for (const h of await tx.selectFrom("hosts").select(["name", "token_hash"]).where("token_hash", "!=", "").execute()) {
          await tx.updateTable("hosts").set({ token_hash: keyed(h.token_hash as string) }).where("name", "=", h.name).execute();
        }
      };
      await (db.isTransaction ? work(db) : db.transaction().execute(work));
      await db.schema.createIndex("hosts_token_hash").on("hosts").column("token_hash").execute();
    },
  },
  // A user's tokens in pages, and their count for the cap on tokens.
  "2026-12-02T01-tokens-by-user": {
    async up(db: Kysely<any>) {
      await db.schema.createIndex("tokens_user_created").on("tokens").columns(["user_name", "created_at", "id"]).execute();
    },
  },
  // Each VM's story: a row per change of its state (and per change of its expiry), saying who or what
  // made it (a username, `node`, `policy:...`) and why. Read a VM at a time, oldest first; the rows go
  // with their VM's row. The VMs there already start with what is known for sure: their deploy, and
  // the state their node last reported.
  "2026-12-02T02-vm-history": {
    async up(db: Kysely<any>) {
      const work = async (tx: Kysely<any>) => {
        await tx.schema
          .createTable("vm_history")
          .addColumn("id", isPostgres(tx) ? "serial" : "integer", (c) => (isPostgres(tx) ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn("vm_id", "text", (c) => c.notNull().references("vms.id").onDelete("cascade"))
          .addColumn("at", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("actor", "text", (c) => c.notNull())
          .addColumn("detail", "text")
          .execute();
        await tx.schema.createIndex("vm_history_vm").on("vm_history").columns(["vm_id", "id"]).execute();
        await sql`insert into vm_history (vm_id, at, state, actor, detail)
          select id, created_at, 'pending', owner, null from vms order by created_at, id`.execute(tx);
        await sql`insert into vm_history (vm_id, at, state, actor, detail)
          select id, updated_at, state, 'node', 'the state when vgrid began to keep histories; what came between is not known'
          from vms where state in ('provisioning', 'running', 'failed', 'terminated') order by created_at, id`.execute(tx);
      };
      await (db.isTransaction ? work(db) : db.transaction().execute(work));
    },
  },
  // Who asked for a VM's termination (a username, or `policy:...`) and why, in words its owner reads.
  // VMs asked before this are not known: both stay null.
  "2026-12-02T03-termination-reason": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("vms").addColumn("terminated_by", "text").execute();
      await db.schema.alterTable("vms").addColumn("termination_reason", "text").execute();
    },
  },
  // An image's description, from its catalog entry (sidecar or server.toml), for the portal to show.
  "2026-12-02T04-image-description": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("images").addColumn("description", "text").execute();
    },
  },
  // The VMs' boot logs: what their consoles printed, as their nodes shipped it, the newest 1 MiB kept.
  // A log is rows of up to 64 KiB each (small chunks are joined into the last row), keyed by where
  // they start in the VM's whole log: an append is a row written, never the whole log rewritten.
  // Each row says which console run its last byte came from and how far into that run, so that the
  // last row is where the node goes on from. Positions are bigints: a chatty guest passes 2 GiB.
  "2026-12-02T05-boot-logs": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("vm_log_chunks")
        .addColumn("vm_id", "text", (c) => c.notNull().references("vms.id").onDelete("cascade"))
        .addColumn("log_start", "bigint", (c) => c.notNull())
        .addColumn("log_end", "bigint", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("stream_end", "bigint", (c) => c.notNull())
        .addColumn("data", isPostgres(db) ? "bytea" : "blob", (c) => c.notNull())
        .addPrimaryKeyConstraint("vm_log_chunks_pk", ["vm_id", "log_start"])
        .execute();
    },
  },
  "2026-12-02T06-mail-outbox": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("mail_outbox")
        .addColumn("id", isPostgres(db) ? "bigserial" : "integer", (c) => (isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("key", "text", (c) => c.notNull().unique())
        .addColumn("kind", "text", (c) => c.notNull())
        // Not a foreign key: a mail outlives the VM it is about (the terminated mail, the history).
        .addColumn("vm_id", "text")
        .addColumn("to_address", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("text_body", "text", (c) => c.notNull())
        .addColumn("html_body", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull())
        .addColumn("last_error", "text")
        .addColumn("next_attempt_at", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("sent_at", "text")
        .execute();
      // The sender's question: what is due to be sent now, oldest first.
      await db.schema.createIndex("mail_outbox_due").on("mail_outbox").columns(["state", "next_attempt_at"]).execute();
    },
  },
  // Power: stop, start and reboot (issue 17). What the node last reported of a VM (so that a stopped VM
  // its node still runs reads as being stopped), whether the last stop was forced, and reboots as
  // numbered asks the node confirms, so that each is carried out once. An image's restartOnCrash.
  "2026-12-02T13-power": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("vms").addColumn("node_state", "text").execute();
      await db.schema.alterTable("vms").addColumn("crash_restart", "text").execute();
      for (const column of ["force_stop", "reboot_asked", "reboot_done", "reboot_force"]) {
        await db.schema.alterTable("vms").addColumn(column, "integer", (c) => c.notNull().defaultTo(0)).execute();
      }
      await db.schema.alterTable("images").addColumn("restart_on_crash", "integer", (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  // The policy pass (policies/): each live VM keeps when the pass next has something to do for it
  // (`policy_at`: its next warning, its expiry, the end of its grace), so that a pass reads only the VMs
  // due, from an index, however many there are. `warned_expires_at` is the expiry the last warning
  // announced: the VM is never terminated before it. `silence_mailed` is when the VM had last answered,
  // as said in the not-responding mail sent for it (null: none outstanding). An image's catalog entry
  // bounds its VMs' lives (defaultHours, maxHours). One-time extend links: only their keyed hashes.
  "2026-12-02T10-policies": {
    async up(db: Kysely<any>) {
      const work = async (tx: Kysely<any>) => {
        await tx.schema.alterTable("vms").addColumn("policy_at", "text").execute();
        await tx.schema.alterTable("vms").addColumn("warned_expires_at", "text").execute();
        await tx.schema.alterTable("vms").addColumn("silence_mailed", "text").execute();
        await tx.schema.alterTable("images").addColumn("default_hours", "real").execute();
        await tx.schema.alterTable("images").addColumn("max_hours", "real").execute();
        // A policy that arrives must not kill at once what nobody enforced before (OpenNebula#5294):
        // a live VM already past its expiry gets a day more, and every live VM is looked at by the
        // first pass, which sends the warnings still to come.
        const now = new Date();
        const day = new Date(now.getTime() + 24 * 3600_000).toISOString();
        const live = ["pending", "provisioning", "running", "failed"];
        const late = await tx.selectFrom("vms").select("id").where("state", "in", live).where("expires_at", "<", now.toISOString()).execute();
        for (const { id } of late) {
          await tx.updateTable("vms").set({ expires_at: day }).where("id", "=", id).execute();
          const row = await tx.selectFrom("vms").select("state").where("id", "=", id).executeTakeFirstOrThrow();
          await tx
            .insertInto("vm_history")
            .values({ vm_id: id, at: now.toISOString(), state: row.state, actor: "policy:expiry", detail: `expiry moved to ${day}: it had passed before vgrid enforced expiry` })
            .execute();
        }
        await tx.updateTable("vms").set({ policy_at: now.toISOString() }).where("state", "in", live).where("expires_at", "is not", null).execute();
        await tx.schema.createIndex("vms_policy_due").on("vms").columns(["policy_at", "id"]).where(sql.ref("policy_at"), "is not", null).execute();
        // The VMs that stopped answering, and those mailed about it: each set is small, whatever the VMs.
        await tx.schema
          .createIndex("vms_silent")
          .on("vms")
          .columns(["last_seen_at", "id"])
          .where(sql.ref("state"), "=", "running")
          .where(sql.ref("responding"), "=", 0)
          .where(sql.ref("silence_mailed"), "is", null)
          .execute();
        await tx.schema.createIndex("vms_silence_mailed").on("vms").column("id").where(sql.ref("silence_mailed"), "is not", null).execute();
        await tx.schema
          .createTable("extend_links")
          .addColumn("hash", "text", (c) => c.primaryKey())
          .addColumn("vm_id", "text", (c) => c.notNull().references("vms.id").onDelete("cascade"))
          // The expiry it extends: once the VM's expiry is another, the link is stale.
          .addColumn("expires_at", "text", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("used_at", "text")
          .execute();
        await tx.schema.createIndex("extend_links_vm").on("extend_links").column("vm_id").execute();
      };
      await (db.isTransaction ? work(db) : db.transaction().execute(work));
    },
  },
  // GET /outbox, newest first, filtered by state, kind or VM: each filter read from an index in id
  // order, so that a page costs the same however long the outbox has grown. (After T13: a store that
  // has run the policy and power migrations refuses one that sorts before them.)
  "2026-12-02T14-outbox-lists": {
    async up(db: Kysely<any>) {
      await db.schema.createIndex("mail_outbox_state").on("mail_outbox").columns(["state", "id"]).execute();
      await db.schema.createIndex("mail_outbox_kind").on("mail_outbox").columns(["kind", "id"]).execute();
      await db.schema.createIndex("mail_outbox_vm").on("mail_outbox").columns(["vm_id", "id"]).execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
