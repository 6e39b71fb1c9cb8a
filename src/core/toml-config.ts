// Reads a TOML config file against a TypeBox schema: defaults filled in, unknown keys and wrong types
// refused with the file, the key and what is allowed.

import { readFile } from "node:fs/promises";
import { parse } from "smol-toml";
import type { Static, TSchema } from "typebox";
import { Value } from "typebox/value";
import { ConfigError } from "./errors.js";

export async function loadTomlConfig<S extends TSchema>(file: string, schema: S): Promise<Static<S>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, "(file)", `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseTomlConfig(file, text, schema);
}

export function parseTomlConfig<S extends TSchema>(file: string, text: string, schema: S): Static<S> {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(file, "(syntax)", (err as Error).message.split("\n")[0] ?? "not valid TOML");
  }
  const withDefaults = Value.Default(schema, Value.Clone(raw));
  const first = Value.Errors(schema, withDefaults)[0];
  if (first) {
    const key = keyPath(first.instancePath);
    if (first.schemaPath.endsWith("/additionalProperties")) {
      throw new ConfigError(file, key, "unknown key; remove it or check its spelling");
    }
    throw new ConfigError(file, key, first.message);
  }
  return Object.freeze(withDefaults) as Static<S>;
}

function keyPath(pointer: string): string {
  if (pointer === "") return "(top)";
  return pointer
    .slice(1)
    .split("/")
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join("");
}
