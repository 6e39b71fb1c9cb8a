// Starts a node: the qemu driver under the agent loop, connected to its server.

import { cpus, totalmem } from "node:os";
import { Agent } from "./agent.js";
import { detectAccel } from "./drivers/qemu/accel.js";
import { QemuDriver } from "./drivers/qemu/driver.js";
import { sshProbeAddress } from "./liveness.js";

export interface NodeOptions {
  serverUrl: string;
  nodeName: string;
  token: string;
  stateDir: string;
  imageDirectory: string;
  /** Address QEMU's forwarded ssh ports listen on. */
  sshBind: string;
  /** Address clients are told to connect to. */
  sshHost: string;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface RunningNode {
  agent: Agent;
  /** Ends the agent; with stopVms, stops the VMs too (their disks stay for the next start). */
  shutdown(stopVms: boolean): Promise<void>;
}

export function hostResources(): { memoryMiB: number; cpus: number } {
  return { memoryMiB: Math.floor(totalmem() / 1048576), cpus: cpus().length };
}

export function startNode(opts: NodeOptions): RunningNode {
  // The KVM probe takes up to a few seconds: run it once now, not in the first user's deploy.
  const accel = detectAccel({ log: opts.log });
  const driver = new QemuDriver({
    accel,
    stateDir: opts.stateDir,
    imageDirectory: opts.imageDirectory,
    sshBind: opts.sshBind,
    log: opts.log,
  });
  const agent = new Agent({
    serverUrl: opts.serverUrl,
    nodeName: opts.nodeName,
    token: opts.token,
    driver,
    sshHost: opts.sshHost,
    probeHost: sshProbeAddress(opts.sshBind),
    facts: hostResources(),
    log: opts.log,
  });
  agent.start();
  return { agent, shutdown: (stopVms) => agent.shutdown(stopVms) };
}
