// Migrations, frozen in time: they use Kysely<any> and never import app types.

import { sql, type Kysely } from "kysely";
import type { Migration, MigrationProvider } from "kysely/migration";

/* eslint-disable @typescript-eslint/no-explicit-any */
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
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
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
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
