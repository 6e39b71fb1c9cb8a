// The two ways a command ends badly that the CLI's entry point maps to exit statuses (API.md: 1 and 2).

/** The command line itself is wrong (unknown flag, bad number, missing argument): exit 2 with a usage hint. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** An expected failure a person can act on (a VM that failed, a recipe not built yet): exit 1, one line. */
export class Failure extends Error {
  override readonly name = "Failure";
}

/** A message folded onto one line: the CLI's errors are one line on stderr. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
