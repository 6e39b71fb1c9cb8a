// What the agent knows of one VM: the server's spec, this run's report of it, and how far this run
// got with it; and how that reads as a situation for decide() and as a report change.

import type { VmReport, VmSpec } from "../core/protocol.js";
import type { VmSituation } from "./decide.js";
import type { DriverCapabilities, VmObservation } from "./drivers/driver.js";
import { adminWords, ownerWords } from "./report-text.js";

export interface VmRecord {
  spec: VmSpec;
  report: VmReport;
  /**
   * Whether this run has said anything true of the VM: until then its report is not sent (a VM
   * adopted after a restart would otherwise read as provisioning on the server meanwhile).
   */
  observed: boolean;
  /** Whether a pass has looked at the VM (reported or not): `online` waits for every first look. */
  looked: boolean;
  /** The driver stopped the VM since the server asked for `stopped`. */
  isStopped: boolean;
  /** The highest reboot number (the spec's `reboot.generation`) this run has carried out. */
  rebootDone: number;
  /** When this run booted the VM again after a crash (restartOnCrash), for the bound on restarts. */
  crashRestarts: number[];
}

export function newRecord(spec: VmSpec): VmRecord {
  const report: VmReport = { id: spec.id, state: "provisioning", responding: false, sshPort: null, ip: null, error: null, detail: null };
  return { spec, report, observed: false, looked: false, isStopped: false, rebootDone: 0, crashRestarts: [] };
}

/** The VM as decide() reads it, given what the driver sees and what the driver can boot. */
export function situationOf(vm: VmRecord, seen: VmSituation["seen"], capabilities: DriverCapabilities): VmSituation {
  const mode = vm.spec.image.kernel === null ? "disk" : "direct";
  return {
    desired: vm.spec.desired,
    reported: vm.observed ? vm.report.state : undefined,
    isStopped: vm.isStopped,
    seen,
    unsupportedBoot: capabilities.bootModes.includes(mode) ? null : mode,
    rebootDue: rebootDue(vm),
  };
}

/** The reboot the server asks for that this run has not carried out, or null. */
export function rebootDue(vm: Pick<VmRecord, "spec" | "rebootDone">): { force: boolean } | null {
  const asked = vm.spec.reboot;
  return asked !== undefined && asked.generation > vm.rebootDone ? { force: asked.force } : null;
}

/** Applies a change to the VM's report, its words bounded to the protocol's maxima; false if nothing new. */
export function changeReport(vm: VmRecord, change: Partial<VmReport>): boolean {
  const next = { ...vm.report, ...change };
  next.error = ownerWords(next.error);
  next.detail = adminWords(next.detail);
  if (vm.observed && JSON.stringify(next) === JSON.stringify(vm.report)) return false;
  vm.report = next;
  vm.observed = true;
  return true;
}

/** How the VM is reached, as the report says it: the forwarded port, and the guest's own address. */
export function reachOf(seen: VmObservation): Pick<VmReport, "sshPort" | "ip"> {
  return { sshPort: seen.sshPort, ip: seen.address };
}
