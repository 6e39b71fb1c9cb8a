// How the client commands print: JSON for scripts, aligned tables and short lines for people.

import type { Vm } from "../core/api.js";

/** What a command prints on, given by the dispatcher: stdout for results, stderr for notices. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** VGRID_DEBUG=1: print the stack of an unexpected error instead of one line. */
  debug: boolean;
}

/** Machine-readable output, for --json. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

// C0 and C1 controls but tab and newline: a value a node or another user sent must never reach the
// terminal as an escape sequence.
// eslint-disable-next-line no-control-regex
const TERMINAL_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Text from the server made safe to print: control characters shown as \uXXXX, never sent raw (main.ts applies it to every line). */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Left-aligned columns two spaces apart; the last column is not padded, so lines carry no trailing blanks. */
export function formatTable(header: string[], rows: string[][]): string {
  rows = rows.map((r) => r.map((cell) => terminalSafe(cell).replace(/[\t\n]/g, " ")));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [header, ...rows].map(line).join("\n");
}

export { formatExpiry, sshCommandLine } from "../core/vm-words.js";

/** "vm-003 (7f3c1a2b)": how messages name a VM. */
export function vmLabel(vm: Pick<Vm, "id" | "name">): string {
  return `${vm.name} (${vm.id.slice(0, 8)})`;
}
