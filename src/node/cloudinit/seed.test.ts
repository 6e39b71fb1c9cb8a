import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";

import { Invalid } from "../../core/errors.js";
import type { VmSpec } from "../../core/protocol.js";
import { sampleSpec } from "../../../test/support/fixtures.js";
import { renderSeedFiles, writeSeedIso, yamlString } from "./seed.js";

function specWith(overrides: Partial<VmSpec>): VmSpec {
  return sampleSpec({ sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey alice@laptop"], ...overrides });
}

/** The lines of the ssh_authorized_keys list, as the tiny guest's sed finds them. */
function keyLines(userData: string): string[] {
  return userData.split("\n").filter((line) => line.startsWith("  - "));
}

describe("renderSeedFiles", () => {
  it("writes the instance id and the hostname into meta-data", () => {
    const { metaData } = renderSeedFiles(specWith({}));
    assert.equal(metaData, 'instance-id: "7f3c0a1e-1111-4222-8333-944445555666"\nlocal-hostname: "vm-003"\n');
  });

  it("writes a cloud-config that lets the owner in as root with their keys only", () => {
    const { userData } = renderSeedFiles(
      specWith({ sshKeys: ["ssh-ed25519 AAAA1 alice@laptop", "ssh-rsa AAAA2 alice@desk"] }),
    );
    assert.equal(
      userData,
      [
        "#cloud-config",
        'hostname: "vm-003"',
        "disable_root: false",
        "ssh_pwauth: false",
        "ssh_authorized_keys:",
        '  - "ssh-ed25519 AAAA1 alice@laptop"',
        '  - "ssh-rsa AAAA2 alice@desk"',
        'vgrid_username: "alice"',
        "",
      ].join("\n"),
    );
  });

  it("writes an empty key list as a list, not as null", () => {
    const { userData } = renderSeedFiles(specWith({ sshKeys: [] }));
    assert.match(userData, /^ssh_authorized_keys: \[\]$/m);
    assert.deepEqual(keyLines(userData), []);
  });

  const hostile: { name: string; key: string }[] = [
    { name: "a newline and a second entry", key: 'ssh-ed25519 AAAA x\n  - "ssh-ed25519 EVIL mallory"' },
    { name: "a carriage return", key: "ssh-ed25519 AAAA x\r  - ssh-ed25519 EVIL" },
    { name: "a quote that closes the string", key: 'ssh-ed25519 AAAA x" \n  - "ssh-ed25519 EVIL' },
    { name: "YAML flow syntax", key: "ssh-ed25519 AAAA x], runcmd: [reboot" },
    { name: "a YAML line separator (U+2028)", key: "ssh-ed25519 AAAA x\u2028  - ssh-ed25519 EVIL" },
    { name: "a next-line character (U+0085)", key: "ssh-ed25519 AAAA x\u0085  - ssh-ed25519 EVIL" },
    { name: "a comment marker", key: "ssh-ed25519 AAAA x # runcmd: [reboot]" },
  ];
  for (const row of hostile) {
    it(`keeps a key with ${row.name} on one line, as one entry`, () => {
      const { userData } = renderSeedFiles(specWith({ sshKeys: [row.key] }));
      const lines = keyLines(userData);
      assert.equal(lines.length, 1, userData);
      assert.equal(JSON.parse(lines[0]!.slice(4)), row.key);
      // Nothing but the fixed keys starts a line: the value never became YAML structure.
      const topKeys = userData.split("\n").filter((l) => /^[A-Za-z_]+:/.test(l)).map((l) => l.split(":")[0]);
      assert.deepEqual(topKeys, ["hostname", "disable_root", "ssh_pwauth", "ssh_authorized_keys", "vgrid_username"]);
      assert.doesNotMatch(userData, /[\u0085\u2028\u2029\r]/);
    });
  }

  it("quotes the owner, so a hostile name stays a value", () => {
    const { userData } = renderSeedFiles(specWith({ owner: "bob\nruncmd: [reboot]" }));
    assert.match(userData, /^vgrid_username: "bob\\nruncmd: \[reboot\]"$/m);
    assert.doesNotMatch(userData, /^runcmd/m);
  });

  it("gives a fully qualified pool name as the FQDN, and its first label as the hostname", () => {
    const { metaData, userData } = renderSeedFiles(specWith({ hostname: "ctb-generic-19.cern.ch" }));
    assert.match(metaData, /^local-hostname: "ctb-generic-19"$/m);
    assert.match(userData, /^hostname: "ctb-generic-19"$/m);
    assert.match(userData, /^fqdn: "ctb-generic-19\.cern\.ch"$/m);
    assert.doesNotMatch(renderSeedFiles(specWith({ hostname: "vm-003" })).userData, /^fqdn:/m, "a single label has no FQDN line");
  });

  const badHostnames = ["", "vm 1", "vm\nx", "-vm", "a".repeat(64), "vm_1", "vm..example.org", "Vm.example.org", "vm.-x.org"];
  for (const hostname of badHostnames) {
    it(`rejects the hostname ${JSON.stringify(hostname)}`, () => {
      assert.throws(() => renderSeedFiles(specWith({ hostname })), (err: unknown) => {
        assert.ok(err instanceof Invalid);
        assert.equal(err.field, "hostname");
        return true;
      });
    });
  }
});

describe("yamlString", () => {
  const rows: { value: string; want: string }[] = [
    { value: "plain", want: '"plain"' },
    { value: 'q"uote', want: '"q\\"uote"' },
    { value: "new\nline", want: '"new\\nline"' },
    { value: "del\u007f", want: '"del\\u007f"' },
    { value: "ls\u2028ps\u2029", want: '"ls\\u2028ps\\u2029"' },
    { value: "bom\ufeff", want: '"bom\\ufeff"' },
    { value: "ünï", want: '"ünï"' },
  ];
  for (const row of rows) {
    it(`quotes ${JSON.stringify(row.value)}`, () => {
      assert.equal(yamlString(row.value), row.want);
      assert.equal(JSON.parse(yamlString(row.value)), row.value);
    });
  }
});

describe("writeSeedIso", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("packs both files into an ISO 9660 volume labelled cidata", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "vgrid-seed-"));
    dirs.push(dir);
    const files = renderSeedFiles(specWith({}));
    const iso = path.join(dir, "seed.iso");
    await writeSeedIso(path.join(dir, "seed"), files, iso);

    assert.equal(await readFile(path.join(dir, "seed", "user-data"), "utf8"), files.userData);
    assert.equal(await readFile(path.join(dir, "seed", "meta-data"), "utf8"), files.metaData);
    const image = await readFile(iso);
    // The primary volume descriptor sits at sector 16: "CD001", then the volume id at offset 40.
    assert.equal(image.subarray(0x8001, 0x8006).toString("latin1"), "CD001");
    assert.equal(image.subarray(0x8028, 0x8028 + 32).toString("latin1").trim(), "cidata");
    assert.ok(image.includes(Buffer.from("vgrid_username")), "the user-data is inside the ISO");
  });

  it("fails with xorriso's own words when it cannot write the ISO", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "vgrid-seed-"));
    dirs.push(dir);
    await assert.rejects(
      writeSeedIso(path.join(dir, "seed"), renderSeedFiles(specWith({})), path.join(dir, "missing", "seed.iso")),
      (err: unknown) => err instanceof Error && /^xorriso .* exited with status \d+: \S/.test(err.message),
    );
  });
});
