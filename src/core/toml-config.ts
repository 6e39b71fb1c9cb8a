// Reads a TOML config file against a TypeBox schema: defaults filled in, unknown keys and wrong types
// refused with the file, the key and what is allowed; a syntax error with its line and column.

import { readFile } from "node:fs/promises";
import { parse } from "smol-toml";
import type { Static, TSchema } from "typebox";
import { Value } from "typebox/value";
import { ConfigError } from "./errors.js";

export async function loadTomlConfig<S extends TSchema>(file: string, schema: S): Promise<Static<S>> {
  return validateConfig(file, await readToml(file), schema);
}

export function parseTomlConfig<S extends TSchema>(file: string, text: string, schema: S): Static<S> {
  return validateConfig(file, parseToml(file, text), schema);
}

/** The file's TOML as plain values, not yet checked against any schema. */
export async function readToml(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (code ?? String(err));
    throw new ConfigError(file, "(file)", `cannot be read: ${why}`);
  }
  return parseToml(file, text);
}

export function parseToml(file: string, text: string): unknown {
  try {
    return parse(text);
  } catch (err) {
    const { line, column, message } = err as Error & { line?: number; column?: number };
    const where = line === undefined ? "(syntax)" : `line ${line}, column ${column ?? 1}`;
    const what = message.replace(/^Invalid TOML document:\s*/, "").split("\n")[0] ?? "not valid TOML";
    throw new ConfigError(file, where, `not valid TOML: ${what}`);
  }
}

/** `raw` with the schema's defaults filled in, frozen; refused with the first key that is wrong. */
export function validateConfig<S extends TSchema>(file: string, raw: unknown, schema: S): Static<S> {
  const withDefaults = Value.Default(schema, Value.Clone(raw));
  const first = Value.Errors(schema, withDefaults)[0];
  if (first) {
    const key = keyPath(first.instancePath);
    if (first.schemaPath.endsWith("/additionalProperties")) {
      throw new ConfigError(file, key, "unknown key; remove it or check its spelling");
    }
    throw new ConfigError(file, key, first.message);
  }
  return deepFreeze(withDefaults) as Static<S>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function keyPath(pointer: string): string {
  if (pointer === "") return "(top)";
  return pointer
    .slice(1)
    .split("/")
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join("");
}
