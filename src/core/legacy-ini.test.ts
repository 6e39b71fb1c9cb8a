import assert from "node:assert/strict";
import { test } from "node:test";
import { parseLegacyIni } from "./legacy-ini.js";

function entries(text: string, section: string) {
  return parseLegacyIni("x.cfg", text).sections.get(section)?.entries.map((e) => [e.key, e.value]);
}

test("reads sections of key: value and key = value lines in order, keys lowercased, values trimmed", () => {
  const text = "# comment\n; another\n[VMImages]\nslc4: Scientific Linux CERN 4\nSL5 = Scientific Linux 5  \n\n[Other]\nk:v\n";
  const ini = parseLegacyIni("common.cfg", text);
  assert.deepEqual([...ini.sections.keys()], ["VMImages", "Other"]);
  assert.deepEqual(entries(text, "VMImages"), [
    ["slc4", "Scientific Linux CERN 4"],
    ["sl5", "Scientific Linux 5"],
  ]);
  assert.equal(ini.sections.get("VMImages")?.entries[1]?.rawKey, "SL5");
  assert.equal(ini.sections.get("VMImages")?.entries[1]?.line, 5);
});

test("a value keeps everything after the first delimiter (a MAC address) and loses an inline ; comment", () => {
  assert.deepEqual(entries("[P]\nctb-generic-19: 00:16:3e:00:00:13\nh = a=b ; note\n", "P"), [
    ["ctb-generic-19", "00:16:3e:00:00:13"],
    ["h", "a=b"],
  ]);
});

test("indented lines continue the previous value; a repeated key keeps its place and takes the last value", () => {
  assert.deepEqual(entries("[S]\na: one\n  two\nb: x\nA: three\n", "S"), [
    ["a", "three"],
    ["b", "x"],
  ]);
  assert.deepEqual(entries("[S]\na: one\n  two\n", "S"), [["a", "one\ntwo"]]);
});

test("an empty value is kept", () => {
  assert.deepEqual(entries("[S]\na:\n", "S"), [["a", ""]]);
});

for (const [name, text, words] of [
  ["a key before any section", "a: b\n", "x.cfg: line 1: a key before any [Section]"],
  ["a line that is not a key", "[S]\njust words\n", "x.cfg: line 2: not a [Section]"],
  ["an indented first line", "[S]\n  a: b\n", "x.cfg: line 2: an indented line"],
  ["an unclosed header", "[S\n", "x.cfg: line 1:"],
] as const) {
  test(`refuses ${name}, naming the file and line`, () => {
    assert.throws(
      () => parseLegacyIni("x.cfg", text),
      (err: Error) => err.message.includes(words),
    );
  });
}
