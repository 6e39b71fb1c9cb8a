// Flag parsing shared by the commands: util.parseArgs in strict mode, turned into usage errors that name the flag.

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "./errors.js";

/**
 * Parses ARGV against OPTIONS and exactly the POSITIONALS named (their names only serve the messages).
 * Anything else (an unknown flag, a missing value, a surplus argument) is a UsageError.
 */
export function parseCommand<const O extends ParseArgsOptionsConfig>(
  argv: string[],
  options: O,
  positionals: readonly string[] = [],
) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw toUsageError(err);
  }
  const got = parsed.positionals;
  if (got.length < positionals.length) throw new UsageError(`missing ${positionals[got.length]}`);
  if (got.length > positionals.length) throw new UsageError(`unexpected argument '${got[positionals.length]}'`);
  return parsed;
}

/** node's parseArgs messages are long and suggest `--` tricks; say the same in a few words, naming the flag. */
function toUsageError(err: unknown): UsageError {
  const message = err instanceof Error ? err.message : String(err);
  const flag = /'(?:-\w, )?(--?[\w-]+)/.exec(message)?.[1] ?? "a flag";
  if (message.startsWith("Unknown option")) return new UsageError(`unknown flag ${flag}`);
  if (message.includes("argument missing")) return new UsageError(`${flag} needs a value`);
  if (message.includes("argument is ambiguous")) {
    return new UsageError(`${flag} needs a value (write ${flag}=VALUE for one that starts with '-')`);
  }
  if (message.includes("does not take an argument")) return new UsageError(`${flag} takes no value`);
  return new UsageError(message.split(/\.\s/)[0] ?? message);
}

/** A flag that must be a positive whole number (MiB, cpus); undefined when the flag was not given. */
export function positiveInteger(flag: string, value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${flag} must be a positive whole number (${what}), not '${value}'`);
  }
  return n;
}

/** A flag that must be a positive number, fractions allowed (hours, seconds). */
export function positiveNumber(flag: string, value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value) || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} must be a positive number (${what}), not '${value}'`);
  }
  return n;
}
