// How a VM's expiry and ssh endpoint read for a person: the CLI and the web portal say them the same way.

import type { Vm } from "./api.js";

/** The time left until an expiry, in whole minutes rounded up, or what stands instead of it. */
export type TimeLeft = { days: number; hours: number; minutes: number } | "never" | "expired" | { unreadable: string };

export function timeLeft(expiresAt: string | null, now: Date): TimeLeft {
  if (expiresAt === null) return "never";
  const ms = Date.parse(expiresAt) - now.getTime();
  if (Number.isNaN(ms)) return { unreadable: expiresAt };
  if (ms <= 0) return "expired";
  const total = Math.ceil(ms / 60_000);
  return { days: Math.floor(total / 1440), hours: Math.floor((total % 1440) / 60), minutes: total % 60 };
}

/** "in 3h05m", "in 2d4h", "expired", "never": what a person wants to know about an expiry. */
export function formatExpiry(expiresAt: string | null, now: Date): string {
  const left = timeLeft(expiresAt, now);
  if (typeof left === "string") return left;
  if ("unreadable" in left) return left.unreadable;
  const { days, hours, minutes } = left;
  if (days > 0) return `in ${days}d${hours}h`;
  if (hours > 0) return `in ${hours}h${String(minutes).padStart(2, "0")}m`;
  return `in ${minutes}m`;
}

/** The plain ssh line a person can paste; `vgrid ssh` adds the HostKeyAlias that survives reused ports. */
export function sshCommandLine(vm: Pick<Vm, "ssh">): string | null {
  if (!vm.ssh) return null;
  return `ssh -p ${vm.ssh.port} ${vm.ssh.user}@${vm.ssh.host}`;
}
