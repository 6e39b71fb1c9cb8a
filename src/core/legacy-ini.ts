// Reads the legacy VGrid config files: Python 2 ConfigParser INI, parsed the way ConfigParser did, so that an
// import sees the same sections, keys and values the old installation saw.

import { ConfigError } from "./errors.js";

export interface IniEntry {
  /** Lowercased, as ConfigParser's optionxform leaves it. */
  key: string;
  /** The key as written in the file. */
  rawKey: string;
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  /** In file order; a key given twice keeps its first place and its last value, as ConfigParser does. */
  entries: IniEntry[];
}

export interface IniFile {
  file: string;
  sections: Map<string, IniSection>;
}

const SECTION = /^\[([^\]]+)\]/;
// ConfigParser's OPTCRE: the key runs up to the first ':' or '='.
const OPTION = /^([^:=\s][^:=]*?)\s*[:=]\s*(.*)$/;

/** Parses TEXT, the content of FILE (named in errors with the line). */
export function parseLegacyIni(file: string, text: string): IniFile {
  const sections = new Map<string, IniSection>();
  let section: IniSection | undefined;
  let last: IniEntry | undefined;
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const number = index + 1;
    if (line.trim() === "" || line.startsWith("#") || line.startsWith(";") || /^rem(\s|$)/i.test(line)) continue;
    if (/^\s/.test(line)) {
      // A continuation line: appended to the previous value with a newline (ConfigParser's multi-line values).
      if (!last) throw new ConfigError(file, `line ${number}`, "an indented line with no key before it; remove the indentation");
      last.value = `${last.value}\n${line.trim()}`;
      continue;
    }
    const header = SECTION.exec(line);
    if (header) {
      const name = header[1]!;
      section = sections.get(name);
      if (!section) {
        section = { name, line: number, entries: [] };
        sections.set(name, section);
      }
      last = undefined;
      continue;
    }
    const option = OPTION.exec(line);
    if (!option) {
      throw new ConfigError(file, `line ${number}`, "not a [Section] header, a 'key: value' line or a comment");
    }
    if (!section) throw new ConfigError(file, `line ${number}`, "a key before any [Section] header; add the section above it");
    const rawKey = option[1]!.trim();
    const entry = { key: rawKey.toLowerCase(), rawKey, value: stripInlineComment(option[2]!).trim(), line: number };
    const existing = section.entries.find((e) => e.key === entry.key);
    if (existing) {
      existing.value = entry.value;
      existing.line = number;
      last = existing;
    } else {
      section.entries.push(entry);
      last = entry;
    }
  }
  return { file, sections };
}

/** Python 2's ConfigParser cut a value at a ';' that follows whitespace. */
function stripInlineComment(value: string): string {
  const at = value.search(/\s;/);
  return at < 0 ? value : value.slice(0, at);
}
