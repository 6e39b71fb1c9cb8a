import { test } from "node:test";
import assert from "node:assert/strict";
import { COMMANDS, runCli } from "./cli.js";

/** Runs the dispatcher with captured output; client commands never reach the network here. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), debug: false });
  return { status, out: out.join("\n"), err: err.join("\n") };
}

test("vgrid --help and vgrid help print every command to stdout", async () => {
  for (const word of ["--help", "help", "-h"]) {
    const { status, out, err } = await cli(word);
    assert.equal(status, 0);
    assert.equal(err, "");
    for (const name of Object.keys(COMMANDS)) assert.ok(out.includes(`vgrid ${name}`), `help lists ${name}`);
  }
});

test("a command's --help prints its usage", async () => {
  const { status, out } = await cli("deploy", "--help");
  assert.equal(status, 0);
  assert.match(out, /^usage: vgrid deploy IMAGE/);
});

for (const [argv, words] of [
  [[], ["no command"]],
  [["frobnicate"], ["unknown command 'frobnicate'", "vgrid --help"]],
  [["deplyo", "tiny"], ["unknown command 'deplyo'; did you mean 'vgrid deploy'?"]],
  [["termiante", "vm-001"], ["did you mean 'vgrid terminate'?"]],
  [["--verbose"], ["unknown flag --verbose"]],
  [["ls", "--bogus"], ["unknown flag --bogus", "usage: vgrid ls"]],
  [["deploy", "tiny", "--memory", "abc"], ["--memory", "'abc'", "usage: vgrid deploy"]],
  [["deploy"], ["missing IMAGE"]],
  [["show"], ["missing ID"]],
  [["show", "a", "b"], ["unexpected argument 'b'"]],
  [["extend", "abc"], ["--hours is required"]],
  [["ssh", "abc", "echo"], ["unexpected argument 'echo'"]],
  [["image"], ["vgrid image needs a subcommand", "vgrid image build"]],
  [["image", "bake"], ["no subcommand 'bake'"]],
  [["image", "build", "slc9", "--out", "x"], ["unknown recipe 'slc9'", "tiny, debian"]],
  [["image", "build", "tiny"], ["--out"]],
  [["token"], ["vgrid token create"]],
] as const) {
  test(`vgrid ${argv.join(" ")} is a usage error (exit 2) saying ${words.join(", ")}`, async () => {
    const { status, out, err } = await cli(...argv);
    assert.equal(status, 2);
    assert.equal(out, "");
    assert.equal(err.split("\n").length, 2, "one line of error, one of usage");
    for (const word of words) assert.ok(err.includes(word), `stderr ${JSON.stringify(err)} says ${word}`);
  });
}

test("an expected failure is one line on stderr and exit 1", async () => {
  const { status, err } = await cli("image", "build", "debian", "--out", "x.qcow2");
  assert.equal(status, 1);
  assert.equal(err, "vgrid: recipe 'debian' is not built yet; use 'tiny'");
});

test("vgrid --version prints the package's version", async () => {
  const { status, out } = await cli("--version");
  assert.equal(status, 0);
  assert.match(out, /^vgrid \d+\.\d+\.\d+$/);
});
