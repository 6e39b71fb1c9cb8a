// How a VM's expiry and ssh endpoint read for a person: the CLI and the web portal say them the same way.

import type { Vm } from "./api.js";

/** "in 3h05m", "in 2d4h", "expired", "never": what a person wants to know about an expiry. */
export function formatExpiry(expiresAt: string | null, now: Date): string {
  if (expiresAt === null) return "never";
  const ms = Date.parse(expiresAt) - now.getTime();
  if (Number.isNaN(ms)) return expiresAt;
  if (ms <= 0) return "expired";
  const minutes = Math.ceil(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return `in ${days}d${hours}h`;
  if (hours > 0) return `in ${hours}h${String(mins).padStart(2, "0")}m`;
  return `in ${mins}m`;
}

/** The plain ssh line a person can paste; `vgrid ssh` adds the HostKeyAlias that survives reused ports. */
export function sshCommandLine(vm: Pick<Vm, "ssh">): string | null {
  if (!vm.ssh) return null;
  return `ssh -p ${vm.ssh.port} ${vm.ssh.user}@${vm.ssh.host}`;
}
