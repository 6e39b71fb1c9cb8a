import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommand, positiveInteger, positiveNumber } from "./args.js";
import { UsageError } from "./errors.js";

const options = { memory: { type: "string" }, json: { type: "boolean" } } as const;

test("parseCommand returns the flags and the named positionals", () => {
  const { values, positionals } = parseCommand(["tiny", "--memory", "512", "--json"], options, ["IMAGE"]);
  assert.deepEqual(positionals, ["tiny"]);
  assert.equal(values.memory, "512");
  assert.equal(values.json, true);
});

for (const [argv, words] of [
  [["tiny", "--bogus"], ["unknown flag", "--bogus"]],
  [["tiny", "-x"], ["unknown flag", "-x"]],
  [[], ["missing", "IMAGE"]],
  [["tiny", "extra"], ["unexpected argument", "extra"]],
  [["tiny", "--memory"], ["--memory needs a value"]],
  [["tiny", "--memory", "-5"], ["--memory needs a value", "--memory=VALUE"]],
  [["tiny", "--json=yes"], ["--json takes no value"]],
] as const) {
  test(`parseCommand rejects ${JSON.stringify(argv)} with a usage error naming ${words.join(", ")}`, () => {
    assert.throws(
      () => parseCommand([...argv], options, ["IMAGE"]),
      (err: unknown) => err instanceof UsageError && words.every((w) => err.message.includes(w)),
    );
  });
}

for (const bad of ["abc", "0", "-1", "1.5", "1e3", "", " 2", "0x10", "99999999999999999999"]) {
  test(`positiveInteger rejects '${bad}' naming the flag`, () => {
    assert.throws(() => positiveInteger("--memory", bad, "MiB"), (err: unknown) => {
      return err instanceof UsageError && err.message.includes("--memory") && err.message.includes(`'${bad}'`);
    });
  });
}

test("positiveInteger accepts whole numbers and passes an absent flag through", () => {
  assert.equal(positiveInteger("--cpus", "4", "cpus"), 4);
  assert.equal(positiveInteger("--cpus", undefined, "cpus"), undefined);
});

for (const bad of ["abc", "0", "-2", "0.0", "Infinity", "1h", ""]) {
  test(`positiveNumber rejects '${bad}' naming the flag`, () => {
    assert.throws(() => positiveNumber("--hours", bad, "hours"), (err: unknown) => {
      return err instanceof UsageError && err.message.includes("--hours");
    });
  });
}

test("positiveNumber accepts fractions", () => {
  assert.equal(positiveNumber("--hours", "1.5", "hours"), 1.5);
  assert.equal(positiveNumber("--hours", ".5", "hours"), 0.5);
  assert.equal(positiveNumber("--hours", "24", "hours"), 24);
});
