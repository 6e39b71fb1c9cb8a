// The audit log: who did what, when, from where. Never a secret.

import type { Db } from "./db.js";

export async function audit(db: Db, now: Date, actor: string, action: string, target: string | null, address: string | null): Promise<void> {
  await db.insertInto("audit").values({ at: now.toISOString(), actor, action, target, address }).execute();
}
