import assert from "node:assert/strict";
import { test } from "node:test";

import type { VmSpec } from "../../../core/protocol.js";
import { DriverError } from "../driver.js";
import { SimDriver } from "./driver.js";

const never = new AbortController().signal;
const spec = { id: "vm-1", image: { tag: "tiny", disk: "tiny.qcow2", kernel: null, initrd: null, cmdline: null } } as VmSpec;

test("the sim driver keeps its VMs in memory, in a map a second driver can take over", async () => {
  const first = new SimDriver({ sshPort: 2222, address: "10.1.2.3" });
  await first.create(spec, never);
  assert.equal((await first.inspect(spec.id, never))?.state, "gone", "created, not started");
  assert.deepEqual(await first.start(spec, never), { id: spec.id, state: "running", address: "10.1.2.3", sshPort: 2222, error: null, detail: null });
  await first.close();

  const next = new SimDriver({ vms: first.vms });
  assert.deepEqual(await next.list(never), [spec.id], "the VM outlived its agent");
  await next.stop(spec.id, never);
  assert.equal((await next.inspect(spec.id, never))?.state, "gone");
  await next.destroy(spec.id, never);
  assert.equal(await next.inspect(spec.id, never), undefined);
  assert.deepEqual(first.misuse, [], "nothing used the first driver after it closed");
});

test("faults a test scripts: the next verb fails once, an inspection hangs until released or aborted, a VM's condition changes", async () => {
  const driver = new SimDriver();
  driver.failNext("create", undefined, "the image's disk x.qcow2 is not in the image directory", "/var/lib/vgrid/images");
  await assert.rejects(driver.create(spec, never), (err: unknown) => err instanceof DriverError && err.detail === "/var/lib/vgrid/images");
  await driver.create(spec, never);
  await driver.start(spec, never);

  driver.setCondition(spec.id, { state: "gone", error: "QEMU was killed by SIGKILL" });
  assert.equal((await driver.inspect(spec.id, never))?.error, "QEMU was killed by SIGKILL");

  const release = driver.holdInspect(spec.id);
  let answered = false;
  const held = driver.inspect(spec.id, never).then(() => (answered = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, false, "held");
  release();
  await held;

  driver.holdInspect(spec.id);
  const abort = new AbortController();
  const hung = driver.inspect(spec.id, abort.signal);
  abort.abort();
  await assert.rejects(hung, { name: "AbortError" });
  driver.releaseAll();
  await driver.close();
  await driver.inspect(spec.id, never);
  assert.deepEqual(driver.misuse, [`inspect ${spec.id} after close`]);
});
