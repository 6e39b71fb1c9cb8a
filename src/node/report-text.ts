// The words a node sends of a VM, bounded to what the protocol accepts: `error` is read by the VM's
// owner, `detail` by admins. A reason cut to fit keeps its beginning, which says what happened.

import { MAX_DETAIL_LENGTH, MAX_ERROR_LENGTH } from "../core/protocol.js";

const ELLIPSIS = "…";

/** `text` cut to at most `max` UTF-16 units, never in the middle of a surrogate pair, marked when cut. */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - ELLIPSIS.length;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1; // a high surrogate whose pair would be cut off
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/** A reason for the VM's owner, as a report may carry it. */
export function ownerWords(text: string | null): string | null {
  return text === null ? null : bounded(text, MAX_ERROR_LENGTH);
}

/** A diagnostic for admins, as a report may carry it. */
export function adminWords(text: string | null): string | null {
  return text === null ? null : bounded(text, MAX_DETAIL_LENGTH);
}
