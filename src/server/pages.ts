// Keyset pagination for every list (API.md: `limit`, `cursor`, `next`): a page is read from an index
// after the last row of the previous one, never by skipping rows, so the thousandth page costs what the
// first does. The cursor is opaque to clients: the sort key of the last row, in base64url JSON.

import { DEFAULT_PAGE, MAX_PAGE, type PageRequest } from "../core/api.js";
import { Invalid } from "../core/errors.js";

export interface Page {
  limit: number;
  /** The sort key of the last row of the previous page, or undefined for the first page. */
  after: string[] | undefined;
}

const foreignCursor = () =>
  new Invalid("cursor", "cursor is not one this server gave: pass back the next of the previous page, with the same filters");

/** The page a request asks for; a limit over the maximum or a cursor not made here is a 400. */
export function pageOf(query: PageRequest, keyLength: number): Page {
  const limit = query.limit === undefined ? DEFAULT_PAGE : Number(query.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new Invalid("limit", `limit ${query.limit} is not between 1 and ${MAX_PAGE}; follow next for more`);
  }
  if (query.cursor === undefined) return { limit, after: undefined };
  let after: unknown;
  try {
    after = JSON.parse(Buffer.from(query.cursor, "base64url").toString("utf8"));
  } catch {
    after = undefined;
  }
  if (!Array.isArray(after) || after.length !== keyLength || !after.every((k) => typeof k === "string")) {
    throw foreignCursor();
  }
  return { limit, after: after };
}

/** The answer of a list: `rows` read with limit + 1, cut to the page, and `next` when more remain. */
export function answerPage<T>(rows: T[], page: Page, keyOf: (row: T) => string[]): { items: T[]; next?: string } {
  if (rows.length <= page.limit) return { items: rows };
  const items = rows.slice(0, page.limit);
  return { items, next: Buffer.from(JSON.stringify(keyOf(items.at(-1)!)), "utf8").toString("base64url") };
}

/** The row id a page of a list ordered by id starts after; a cursor whose key is not one is a 400. */
export function afterId(page: Page): number | undefined {
  if (page.after === undefined) return undefined;
  const [key] = page.after;
  if (key === undefined || !/^\d{1,15}$/.test(key)) {
    throw foreignCursor();
  }
  return Number(key);
}
