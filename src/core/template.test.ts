import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Invalid } from "./errors.js";
import type { VmSpec } from "./protocol.js";
import { sampleSpec } from "../../test/support/fixtures.js";
import { kernelCmdlineEscape, renderTemplate, templateVarsFor } from "./template.js";

const identity = (v: string): string => v;

describe("renderTemplate", () => {
  const vars = { username: "alice", vmIp: "10.0.2.15", vmHostname: "vm-001", empty: "" };

  const good: { name: string; template: string; want: string }[] = [
    { name: "no variables", template: "console=ttyS0 quiet", want: "console=ttyS0 quiet" },
    { name: "one variable", template: "vgrid_username=${username}", want: "vgrid_username=alice" },
    { name: "several, repeated", template: "${vmHostname} ${username} ${vmHostname}", want: "vm-001 alice vm-001" },
    { name: "the seed's ${vmIP} spelling", template: "ip=${vmIP}", want: "ip=10.0.2.15" },
    { name: "the ${vmIp} spelling", template: "ip=${vmIp}", want: "ip=10.0.2.15" },
    { name: "an empty value is a value", template: "x=${empty}.", want: "x=." },
    { name: "$${x} is a literal ${x}", template: "keep $${username} as is", want: "keep ${username} as is" },
    { name: "a lone dollar stays", template: "cost $5 and $HOME", want: "cost $5 and $HOME" },
    { name: "braces without dollar stay", template: "{username}", want: "{username}" },
  ];
  for (const row of good) {
    it(`renders ${row.name}`, () => {
      assert.equal(renderTemplate(row.template, vars, identity), row.want);
    });
  }

  const bad: { name: string; template: string; vars?: Record<string, string>; words: string[] }[] = [
    { name: "a missing variable", template: "a=${nope}", words: ["${nope}", "no value", "username"] },
    {
      name: "a variable undefined at run time",
      template: "u=${username}",
      vars: { username: undefined as unknown as string },
      words: ["${username}", "no value"],
    },
    { name: "an unclosed placeholder", template: "a=${username", words: ["closing"] },
    { name: "a name that is not an identifier", template: "a=${user name}", words: ["not a variable name"] },
    { name: "an empty name", template: "a=${}", words: ["not a variable name"] },
    { name: "a prototype key", template: "a=${toString}", words: ["${toString}", "no value"] },
  ];
  for (const row of bad) {
    it(`rejects ${row.name}`, () => {
      assert.throws(
        () => renderTemplate(row.template, row.vars ?? vars, identity),
        (err: unknown) => {
          assert.ok(err instanceof Invalid, `want Invalid, got ${String(err)}`);
          assert.equal(err.field, "template");
          for (const word of row.words) assert.ok(err.message.includes(word), `'${err.message}' lacks '${word}'`);
          assert.ok(!err.message.includes("undefined"), err.message);
          return true;
        },
      );
    });
  }

  it("escapes every value and names the variable whose value the escape refused", () => {
    const upper = (v: string): string => v.toUpperCase();
    assert.equal(renderTemplate("${username}@${vmHostname}", vars, upper), "ALICE@VM-001");
    assert.throws(
      () => renderTemplate("vgrid_username=${username}", { username: "a b" }, kernelCmdlineEscape),
      (err: unknown) => err instanceof Invalid && err.message.includes("${username}") && err.message.includes("kernel"),
    );
  });
});

describe("kernelCmdlineEscape", () => {
  const accepted = ["alice", "", "10.0.2.15", "a.b@c-d_e", "root=/dev/vda", "x=y,z", "ünïcode"];
  for (const value of accepted) {
    it(`accepts '${value}'`, () => {
      assert.equal(kernelCmdlineEscape(value), value);
    });
  }

  const rejected: { name: string; value: string }[] = [
    { name: "a space", value: "a b" },
    { name: "a tab", value: "a\tb" },
    { name: "a newline", value: "a\ninit=/bin/sh" },
    { name: "a double quote", value: 'a"b' },
    { name: "a single quote", value: "a'b" },
    { name: "a backslash", value: "a\\b" },
    { name: "a NUL", value: "a\u0000b" },
    { name: "an escape character", value: "a\u001bb" },
    { name: "DEL", value: "a\u007fb" },
    { name: "a no-break space", value: "a\u00a0b" },
  ];
  for (const row of rejected) {
    it(`rejects ${row.name}`, () => {
      assert.throws(() => kernelCmdlineEscape(row.value), (err: unknown) => {
        assert.ok(err instanceof Invalid);
        assert.match(err.message, /kernel command line/);
        return true;
      });
    });
  }
});

describe("templateVarsFor", () => {
  const spec: VmSpec = sampleSpec({ extra: "rack=2", memoryMiB: 512, cpus: 2 });

  it("gives the seed's variables and the new ones, every one a string", () => {
    assert.deepEqual(templateVarsFor(spec, { vmIp: "" }), {
      machinename: "vgrid-7f3c0a1e-111",
      vmHostname: "vm-003",
      vmMemory: "512",
      username: "alice",
      vmExtra: "rack=2",
      vmIp: "",
      cpus: "2",
      mac: "52:54:00:12:34:56",
    });
  });

  it("renders the tiny image's command line, ${vmIP} included", () => {
    const vars = templateVarsFor(spec, { vmIp: "10.0.2.15" });
    const line = "console=ttyS0 quiet panic=-1 vgrid_username=${username} ip=${vmIP} mem=${vmMemory}M";
    assert.equal(
      renderTemplate(line, vars, kernelCmdlineEscape),
      "console=ttyS0 quiet panic=-1 vgrid_username=alice ip=10.0.2.15 mem=512M",
    );
  });
});
