import assert from "node:assert/strict";
import { test } from "node:test";
import { Type } from "typebox";
import { ConfigError } from "./errors.js";
import { parseTomlConfig } from "./toml-config.js";

const Schema = Type.Object(
  {
    name: Type.String(),
    listen: Type.Object({ port: Type.Integer({ default: 8080 }) }, { additionalProperties: false, default: {} }),
    hosts: Type.Array(Type.Object({ maxVms: Type.Integer() }, { additionalProperties: false }), { default: [] }),
  },
  { additionalProperties: false },
);

test("defaults fill what the file leaves out, and the result is frozen", () => {
  const c = parseTomlConfig("x.toml", 'name = "a"', Schema);
  assert.deepEqual(c, { name: "a", listen: { port: 8080 }, hosts: [] });
  assert.ok(Object.isFrozen(c));
});

test("a bad file is refused with the file, the key and what is wrong", () => {
  const rows: Array<[string, string]> = [
    ['name = "a"\nnmae = "b"', "x.toml: nmae: unknown key"],
    ['name = "a"\n[listen]\nprot = 1', "x.toml: listen.prot: unknown key"],
    ['name = "a"\n[listen]\nport = "80"', "x.toml: listen.port: must be integer"],
    ['name = "a"\n[[hosts]]\nmaxVms = 1.5', "x.toml: hosts[0].maxVms: must be integer"],
    ["listen = 3", "x.toml: "],
    ['name = "a', "x.toml: line 1, column 8: not valid TOML: unfinished string"],
    ['name = "a"\nb = "x" y', "x.toml: line 2, column 9: not valid TOML: each key-value declaration must be followed by an end-of-line"],
  ];
  for (const [text, words] of rows) {
    assert.throws(
      () => parseTomlConfig("x.toml", text, Schema),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(words),
      `${text} -> ${words}`,
    );
  }
});
