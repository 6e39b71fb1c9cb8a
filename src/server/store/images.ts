// The image catalog as a user sees it: the public images and their own saved ones.

import type { ImageRow } from "./schema.js";
import type { DbOrTx } from "./vms.js";

function selectVisible(db: DbOrTx, user: string) {
  return db
    .selectFrom("images")
    .selectAll()
    .where((eb) => eb.or([eb("owner", "is", null), eb("owner", "=", user)]));
}

export async function visibleImages(db: DbOrTx, user: string): Promise<ImageRow[]> {
  return selectVisible(db, user).orderBy("tag").execute();
}

export async function findImage(db: DbOrTx, tag: string, user: string): Promise<ImageRow | undefined> {
  return selectVisible(db, user).where("tag", "=", tag).executeTakeFirst();
}
