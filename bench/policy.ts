// The policy pass at scale: one pass over 100,000 VMs of which 1,000 are due (500 to be warned, 500
// past their expiry and their last warning, to be terminated), on SQLite and on PostgreSQL side by
// side; then a pass with nothing due. Goal: under 1 s of work per pass, and nothing done for the
// 99,000 VMs not due (their rows untouched, no mail for them). Each round puts the 1,000 back as due.
// Run: make build && .node/bin/node dist/bench/policy.js [--rounds 5]. Figures go to stdout as Markdown rows.

import { parseArgs } from "node:util";
import { sql } from "kysely";
import type { Db } from "../src/server/store/db.js";
import { runExpiryPass } from "../src/server/policies/expiry-pass.js";
import { runLivenessPass } from "../src/server/policies/liveness-pass.js";
import { ensureUser } from "../src/server/store/users.js";
import { startPostgres } from "../test/support/postgres.js";
import { startTestServer } from "../test/support/server.js";
import { benchVmId, benchVmRow } from "./support/vm-rows.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);
const TOTAL = 100_000;
const DUE = 1_000;
const MINUTE = 60_000;

const row = (cells: (string | number)[]) => process.stdout.write(`| ${cells.join(" | ")} |\n`);
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 0)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const id = benchVmId;

/** 100,000 running VMs: the first 1,000 due (even: to warn; odd: to terminate), the rest due in 10 to 40 days. */
async function seed(db: Db, now: number): Promise<void> {
  for (let i = 0; i < TOTAL; i += 1000) {
    await db
      .insertInto("vms")
      .values(
        Array.from({ length: 1000 }, (_, j) => {
          const n = i + j;
          const later = new Date(now + (10 + ((n * 7919) % 30)) * 86_400_000).toISOString();
          return benchVmRow(n, now, { created_at: new Date(now - 86_400_000).toISOString(), expires_at: later, policy_at: later });
        }),
      )
      .execute();
  }
}

/** Puts the first 1,000 VMs back as due, and forgets the mails and links of the round before. */
async function makeDue(db: Db, now: number): Promise<void> {
  const warnAt = new Date(now + 30 * MINUTE).toISOString();
  const pastAt = new Date(now - MINUTE).toISOString();
  const due = Array.from({ length: DUE }, (_, n) => id(n));
  const even = due.filter((_, n) => n % 2 === 0);
  const odd = due.filter((_, n) => n % 2 === 1);
  await db.deleteFrom("mail_outbox").execute();
  await db.deleteFrom("extend_links").execute();
  await db.deleteFrom("audit").execute();
  await db.deleteFrom("vm_history").execute();
  const live = { state: "running", terminated_by: null, termination_reason: null };
  // Within the 1 h warning's time (policy_at: when it fell due): to be warned.
  await db.updateTable("vms").set({ ...live, expires_at: warnAt, policy_at: new Date(now + 30 * MINUTE - 3600_000).toISOString(), warned_expires_at: null }).where("id", "in", even).execute();
  // Past the expiry its last warning announced: to be terminated.
  await db.updateTable("vms").set({ ...live, expires_at: pastAt, policy_at: pastAt, warned_expires_at: pastAt }).where("id", "in", odd).execute();
}

async function main(): Promise<void> {
  process.stdout.write(`One policy pass over ${TOTAL.toLocaleString("en")} running VMs, ${DUE.toLocaleString("en")} of them due (half to warn, half to terminate); median of ${rounds} rounds\n\n`);
  row(["store", "pass with 1,000 due", "decisions made", "mails queued", "pass with nothing due", "rows of the 99,000 changed", "mails for them"]);
  row(["---", "---", "---", "---", "---", "---", "---"]);
  const pg = await startPostgres();
  process.env.VGRID_TEST_POSTGRES_URL = pg.url;
  try {
    for (const store of ["sqlite", "postgres"] as const) {
      const server = await startTestServer(
        {
          hosts: [{ name: "h1", maxVms: TOTAL, memoryMiB: 1 << 30, cpus: 1 << 20, token: "bench-node-secret-0000000000000000" }],
          expiry: { defaultHours: 24, maxHours: 336, warnings: ["1h"], graceHours: 0 },
        },
        store,
      );
      try {
        const { ctx } = server;
        const now = Date.now();
        ctx.now = () => new Date(now);
        await ensureUser(ctx.db, "bench", false, new Date(now).toISOString());
        await seed(ctx.db, now);
        await sql`analyze`.execute(ctx.db);
        const untouched = async () =>
          Number(
            (
              await ctx.db
                .selectFrom("vms")
                .select((eb) => eb.fn.countAll().as("n"))
                .where("id", ">=", id(DUE))
                .where((eb) => eb.or([eb("state", "!=", "running"), eb("updated_at", "!=", new Date(now).toISOString()), eb("warned_expires_at", "is not", null)]))
                .executeTakeFirstOrThrow()
            ).n,
          );
        const busy: number[] = [];
        const idle: number[] = [];
        let decisions = 0;
        let mails = 0;
        for (let r = 0; r < rounds; r++) {
          await makeDue(ctx.db, now);
          const t0 = performance.now();
          const outcome = await runExpiryPass(ctx, new Date(now));
          await runLivenessPass(ctx, new Date(now));
          busy.push(performance.now() - t0);
          decisions = outcome.warned + outcome.terminated + outcome.expired;
          mails = Number((await ctx.db.selectFrom("mail_outbox").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);
          const t1 = performance.now();
          const again = await runExpiryPass(ctx, new Date(now));
          await runLivenessPass(ctx, new Date(now));
          idle.push(performance.now() - t1);
          if (again.warned + again.terminated + again.expired !== 0) throw new Error(`a second pass decided again: ${JSON.stringify(again)}`);
        }
        const forOthers = Number(
          (await ctx.db.selectFrom("mail_outbox").select((eb) => eb.fn.countAll().as("n")).where("vm_id", ">=", id(DUE)).executeTakeFirstOrThrow()).n,
        );
        row([store, ms(median(busy)), decisions, mails, ms(median(idle)), await untouched(), forOthers]);
      } finally {
        await server.close();
      }
    }
  } finally {
    await pg.stop();
  }
}

await main();
