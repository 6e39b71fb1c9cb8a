// Starts a node: a hypervisor driver (qemu unless told) under the agent loop, connected to its server.

import { cpus, totalmem } from "node:os";
import { Agent } from "./agent.js";
import type { Driver } from "./drivers/driver.js";
import { detectAccel } from "./drivers/qemu/accel.js";
import type { Accel } from "./drivers/qemu/args.js";
import { QemuDriver } from "./drivers/qemu/driver.js";
import { SimDriver } from "./drivers/sim/driver.js";
import { sshProbeAddress } from "./liveness.js";
import type { ServerTrust } from "./server-trust.js";

export interface NodeOptions {
  serverUrl: string;
  /** How the server's certificate is checked over HTTPS (node.toml serverCa); the system's CAs unless given. */
  serverTrust?: ServerTrust;
  nodeName: string;
  token: string;
  stateDir: string;
  imageDirectory: string;
  /** Address QEMU's forwarded ssh ports listen on. */
  sshBind: string;
  /** Address clients are told to connect to. */
  sshHost: string;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** The hypervisor driver: `qemu` by default; `sim` (runs nothing) only when named, for tests and benchmarks. */
  driver?: "qemu" | "sim";
  /** KVM or TCG when the operator knows; the node probes otherwise. */
  accel?: Accel;
  /** With the sim driver: how long its guests take to "boot" (node.toml simBootSeconds). */
  simBootSeconds?: number;
}

export interface RunningNode {
  agent: Agent;
  /** Ends the agent; with stopVms, stops the VMs too (their disks stay for the next start). */
  shutdown(stopVms: boolean): Promise<void>;
}

/** The machine's memory and cpus: the facts a node reports, shown to admins beside the configured capacity. */
export function hostResources(): { memoryMiB: number; cpus: number } {
  return { memoryMiB: Math.floor(totalmem() / 1048576), cpus: cpus().length };
}

export function startNode(opts: NodeOptions): RunningNode {
  const agent = new Agent({
    serverUrl: opts.serverUrl,
    ...(opts.serverTrust ? { serverTrust: opts.serverTrust } : {}),
    nodeName: opts.nodeName,
    token: opts.token,
    driver: makeDriver(opts),
    sshHost: opts.sshHost,
    probeHost: sshProbeAddress(opts.sshBind),
    facts: hostResources(),
    log: opts.log,
  });
  agent.start();
  return { agent, shutdown: (stopVms) => agent.shutdown(stopVms) };
}

function makeDriver(opts: NodeOptions): Driver {
  if (opts.driver === "sim") return new SimDriver({ bootSeconds: opts.simBootSeconds ?? 1 });
  return new QemuDriver({
    // The KVM probe takes up to a few seconds: run it once now, not in the first user's deploy.
    accel: opts.accel ?? detectAccel({ log: opts.log }),
    stateDir: opts.stateDir,
    imageDirectory: opts.imageDirectory,
    sshBind: opts.sshBind,
    log: opts.log,
  });
}
