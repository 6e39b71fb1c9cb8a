// A VM's boot log as its owner reads it: the guest's bytes as UTF-8 text, bytes that are not UTF-8
// replaced (U+FFFD), nothing else touched, and never more than MAX_VM_LOG_BYTES, the newest kept.

import { MAX_VM_LOG_BYTES } from "../../core/api.js";

/** `ignoreBOM`: a byte-order mark the guest printed is its text too, kept as it came. */
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * The text of a log's newest bytes. A log whose older bytes were dropped may start in the middle of a
 * character: those leading bytes go rather than show as a replaced character the guest never wrote.
 * Replacing grows text (one invalid byte is three bytes of U+FFFD): what is over the bound goes too,
 * the oldest first.
 */
export function logText(bytes: Buffer, trimmed: boolean): string {
  const tail = bytes.length > MAX_VM_LOG_BYTES ? bytes.subarray(bytes.length - MAX_VM_LOG_BYTES) : bytes;
  const text = utf8.decode(trimmed || tail !== bytes ? fromCharacterStart(tail) : tail);
  const encoded = Buffer.from(text, "utf8");
  if (encoded.length <= MAX_VM_LOG_BYTES) return text;
  return utf8.decode(fromCharacterStart(encoded.subarray(encoded.length - MAX_VM_LOG_BYTES)));
}

/** `bytes` without the continuation bytes (10xxxxxx) of a character cut off before them, at most 3. */
function fromCharacterStart(bytes: Buffer): Buffer {
  let start = 0;
  while (start < 3 && start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.subarray(start);
}
