// The image catalog in the store: rows as catalog entries, and what a user may see and deploy.

import type { ImageEntry } from "../../core/image.js";
import type { Page } from "../pages.js";
import type { DbOrTx } from "./db.js";
import type { ImageRow, ImageTable } from "./schema.js";

export function toImageEntry(row: ImageRow): ImageEntry {
  return {
    tag: row.tag,
    name: row.name,
    description: row.description,
    boot: row.boot,
    disk: row.disk,
    kernel: row.kernel,
    initrd: row.initrd,
    cmdline: row.cmdline,
    minMemoryMiB: row.min_memory_mib,
    defaultMemoryMiB: row.default_memory_mib,
    maxMemoryMiB: row.max_memory_mib,
    maxCpus: row.max_cpus,
    restartOnCrash: row.restart_on_crash === 1,
    defaultHours: row.default_hours,
    maxHours: row.max_hours,
  };
}

/** The columns of an entry (all but the tag, the owner and removal). */
export function imageColumns(image: ImageEntry): Omit<ImageTable, "tag" | "owner" | "removed_at" | "restart_on_crash"> & { restart_on_crash: number } {
  return {
    name: image.name,
    description: image.description ?? null,
    boot: image.boot,
    disk: image.disk,
    kernel: image.kernel,
    initrd: image.initrd,
    cmdline: image.cmdline,
    min_memory_mib: image.minMemoryMiB,
    default_memory_mib: image.defaultMemoryMiB,
    max_memory_mib: image.maxMemoryMiB,
    max_cpus: image.maxCpus,
    restart_on_crash: image.restartOnCrash === true ? 1 : 0,
    default_hours: image.defaultHours ?? null,
    max_hours: image.maxHours ?? null,
  };
}

/** The images `user` may deploy: the catalog's public ones and their own, none that was removed. */
function selectDeployable(db: DbOrTx, user: string) {
  return db
    .selectFrom("images")
    .selectAll()
    .where("removed_at", "is", null)
    .where((eb) => eb.or([eb("owner", "is", null), eb("owner", "=", user)]));
}

/** The images `user` may deploy, by tag: a page of them when `page` is given, else all. */
export async function deployableImages(db: DbOrTx, user: string, page?: Page): Promise<ImageEntry[]> {
  let q = selectDeployable(db, user).orderBy("tag");
  if (page?.after !== undefined) q = q.where("tag", ">", page.after[0]!);
  if (page !== undefined) q = q.limit(page.limit + 1);
  return (await q.execute()).map(toImageEntry);
}

/** The lifetime bounds of image `tag` (a catalog image or a saved one); undefined when it is not in the store. */
export async function imageLifetime(db: DbOrTx, tag: string): Promise<Pick<ImageEntry, "defaultHours" | "maxHours"> | undefined> {
  const row = await db.selectFrom("images").select(["default_hours", "max_hours"]).where("tag", "=", tag).executeTakeFirst();
  return row && { defaultHours: row.default_hours, maxHours: row.max_hours };
}

export async function findDeployableImage(db: DbOrTx, tag: string, user: string): Promise<ImageEntry | undefined> {
  const row = await selectDeployable(db, user).where("tag", "=", tag).executeTakeFirst();
  return row && toImageEntry(row);
}
