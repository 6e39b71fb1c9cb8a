import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../errors.js";
import { parseDeployArgs } from "./deploy.js";

test("deploy sends only the flags given, so that the image's defaults apply to the rest", () => {
  assert.deepEqual(parseDeployArgs(["tiny"]), { request: { image: "tiny" }, sshKeyFile: undefined, wait: false, timeoutS: 600, json: false });
  assert.deepEqual(parseDeployArgs(["tiny", "--memory", "512", "--cpus=2", "--hours", "1.5", "--ssh-key", "k.pub", "--wait", "--timeout", "30", "--json"]), {
    request: { image: "tiny", memoryMiB: 512, cpus: 2, hours: 1.5 },
    sshKeyFile: "k.pub",
    wait: true,
    timeoutS: 30,
    json: true,
  });
});

for (const [argv, words] of [
  [["tiny", "--memory", "abc"], ["--memory", "abc"]],
  [["tiny", "--memory", "1.5"], ["--memory"]],
  [["tiny", "--cpus", "0"], ["--cpus"]],
  [["tiny", "--hours", "-1"], ["--hours"]],
  [["tiny", "--hours", "soon"], ["--hours"]],
  [["tiny", "--timeout", "10"], ["--timeout", "--wait"]],
  [["tiny", "--wait", "--timeout", "x"], ["--timeout"]],
  [["tiny", "--size", "2"], ["unknown flag --size"]],
  [[], ["IMAGE"]],
  [["tiny", "debian"], ["debian"]],
] as const) {
  test(`deploy ${argv.join(" ")} is a usage error naming ${words.join(", ")}`, () => {
    assert.throws(
      () => parseDeployArgs([...argv]),
      (err: unknown) => err instanceof UsageError && words.every((w) => err.message.includes(w)),
    );
  });
}
