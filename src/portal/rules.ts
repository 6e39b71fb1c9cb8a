// The web portal's rules, out of its components (STYLE: no business rule inside a component): which sizes
// and lifetimes a person may pick and why not, what a deploy will use of their quota, how far a VM may be
// extended, what a state means, whether a pasted ssh key is one. Pure and browser-safe (no Node API), so
// that the unit tests run them here and the portal bundles the same code.

import type { Host, Image, Me, Vm } from "../core/api.js";
import { canPower, type PowerAction, type VmState } from "../core/vm-state.js";
import { timeLeft } from "../core/vm-words.js";

export type Quota = Me["quota"];
export interface Limits {
  defaultHours: number;
  maxHours: number;
}

/** A choice of a select: disabled carries the reason in words, or null when it may be picked. */
export interface Choice {
  value: number;
  label: string;
  disabled: string | null;
}

function mib(n: number): string {
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} GiB`;
  return n >= 10_240 ? `${(n / 1024).toFixed(1)} GiB` : `${n} MiB`;
}
export { mib as formatMiB };

/** What of the quota is still free, per resource (null: no limit). */
export function quotaFree(quota: Quota): { vms: number | null; memoryMiB: number | null; cpus: number | null } {
  const free = (max: number | null, used: number) => (max === null ? null : Math.max(0, max - used));
  return { vms: free(quota.maxVms, quota.used), memoryMiB: free(quota.maxMemoryMiB, quota.usedMemoryMiB), cpus: free(quota.maxCpus, quota.usedCpus) };
}

/** Why no VM can be deployed at all now, or null. `freeVms`: the room left on the hosts (Me's capacity). */
export function deployBlocked(quota: Quota, freeVms = Infinity): string | null {
  const free = quotaFree(quota);
  if (freeVms <= 0) return "The hosts are full: no VM can start until one is terminated. Try again later, or ask an administrator for room.";
  if (free.vms === 0) return `You have ${quota.used} of your ${quota.maxVms} VMs: terminate one to deploy another.`;
  if (free.memoryMiB !== null && free.memoryMiB < 1) return "All of your memory quota is in use: terminate a VM to deploy another.";
  if (free.cpus === 0) return "All of your cpu quota is in use: terminate a VM to deploy another.";
  return null;
}

/** The memory sizes of an image: powers of two between its minimum and maximum, and its default. */
export function memoryChoices(image: Image, quota: Quota): Choice[] {
  const sizes = new Set<number>([image.minMemoryMiB, image.defaultMemoryMiB, image.maxMemoryMiB]);
  for (let n = 128; n <= image.maxMemoryMiB; n *= 2) if (n >= image.minMemoryMiB) sizes.add(n);
  const free = quotaFree(quota).memoryMiB;
  return [...sizes]
    .sort((a, b) => a - b)
    .map((n) => ({
      value: n,
      label: `${mib(n)}${n === image.defaultMemoryMiB ? " (default)" : ""}`,
      disabled: free !== null && n > free ? `more than the ${mib(free)} left of your memory quota` : null,
    }));
}

export function cpuChoices(image: Image, quota: Quota): Choice[] {
  const free = quotaFree(quota).cpus;
  return Array.from({ length: image.maxCpus }, (_, i) => i + 1).map((n) => ({
    value: n,
    label: n === 1 ? "1 cpu" : `${n} cpus`,
    disabled: free !== null && n > free ? `more than the ${free} left of your cpu quota` : null,
  }));
}

function hoursWords(h: number): string {
  if (h % 24 === 0 && h >= 48) return `${h / 24} days`;
  if (h === 24) return "1 day";
  return h === 1 ? "1 hour" : `${h} hours`;
}
export { hoursWords as formatHours };

/** The allowed choice nearest `wanted` without passing it (the smallest allowed when none is below). */
export function nearestAllowed(choices: readonly Choice[], wanted: number): number {
  const ok = choices.filter((c) => c.disabled === null);
  const below = ok.filter((c) => c.value <= wanted);
  return (below.at(-1) ?? ok[0] ?? choices[0])?.value ?? wanted;
}

/** Why this image cannot be deployed now at any size, or null. */
export function deployRefusal(quota: Quota, memory: readonly Choice[], cpus: readonly Choice[], freeVms = Infinity): string | null {
  const blocked = deployBlocked(quota, freeVms);
  if (blocked !== null) return blocked;
  if (memory.every((c) => c.disabled !== null)) return `Even its smallest size is ${memory[0]?.disabled ?? "over your quota"}.`;
  if (cpus.every((c) => c.disabled !== null)) return `Even 1 cpu is ${cpus[0]?.disabled ?? "over your quota"}.`;
  return null;
}

/** The memory an image takes, in words. */
export function memoryRange(image: Pick<Image, "minMemoryMiB" | "maxMemoryMiB">): string {
  return `${mib(image.minMemoryMiB)} to ${mib(image.maxMemoryMiB)}`;
}

/** The lifetimes offered at deploy: common ones within the policy, the default and the maximum. */
export function lifetimeChoices(limits: Limits): Choice[] {
  const hours = new Set([1, 4, 8, 24, 72, 168, 336, 720].filter((h) => h < limits.maxHours));
  hours.add(limits.defaultHours);
  hours.add(limits.maxHours);
  return [...hours]
    .filter((h) => h <= limits.maxHours)
    .sort((a, b) => a - b)
    .map((h) => ({ value: h, label: `${hoursWords(h)}${h === limits.defaultHours ? " (default)" : ""}${h === limits.maxHours ? " (most allowed)" : ""}`, disabled: null }));
}

/** One line of the quota summary: what is used, what this VM adds, and the limit (null: none). */
export interface QuotaLine {
  label: string;
  used: number;
  adding: number;
  max: number | null;
  unit: "vms" | "MiB" | "cpus";
  /** The words beside the bar. */
  words: string;
}

export function quotaAfterDeploy(quota: Quota, memoryMiB: number, cpus: number): QuotaLine[] {
  const line = (label: string, used: number, adding: number, max: number | null, unit: QuotaLine["unit"]): QuotaLine => {
    const say = (n: number) => (unit === "MiB" ? mib(n) : unit === "vms" ? `${n} VM${n === 1 ? "" : "s"}` : `${n} cpu${n === 1 ? "" : "s"}`);
    const words =
      max === null
        ? `${say(used)} in use, this one adds ${say(adding)}`
        : `${say(used)} in use + ${say(adding)} for this one, of ${say(max)}; ${say(Math.max(0, max - used - adding))} free after`;
    return { label, used, adding, max, unit, words };
  };
  return [
    line("VMs", quota.used, 1, quota.maxVms, "vms"),
    line("Memory", quota.usedMemoryMiB, memoryMiB, quota.maxMemoryMiB, "MiB"),
    line("CPUs", quota.usedCpus, cpus, quota.maxCpus, "cpus"),
  ];
}

/** The room left on the hosts, in words, beside the quota: the limit that bites when no quota does. */
export function capacityWords(freeVms: number): string {
  if (freeVms <= 0) return "The hosts are full right now.";
  return `The hosts have room for ${freeVms} more VM${freeVms === 1 ? "" : "s"} (for everyone).`;
}

/** When a VM deployed now for `hours` expires. */
export function expiryAfter(now: Date, hours: number): Date {
  return new Date(now.getTime() + hours * 3_600_000);
}

/**
 * The extensions offered for a VM: an extension adds hours to the later of now and its expiry, and may
 * not reach past `maxHours` from now (API.md). Each choice is disabled with the reason when it would.
 */
export function extendChoices(vm: Pick<Vm, "expiresAt">, limits: Limits, now: Date): Choice[] {
  const room = extendRoomHours(vm, limits, now);
  const hours = [...new Set([1, 4, 24, limits.defaultHours, 72, 168].filter((h) => h <= limits.maxHours))].sort((a, b) => a - b);
  return hours.map((h) => ({
    value: h,
    label: `by ${hoursWords(h)}`,
    disabled: room !== null && h > room ? `it would pass the ${hoursWords(limits.maxHours)} from now that the policy allows` : null,
  }));
}

/** The extension offered first: the policy's default when it fits, else the longest that does. */
export function preferredExtension(choices: readonly Choice[], limits: Limits): number | undefined {
  const ok = choices.filter((c) => c.disabled === null);
  return (ok.find((c) => c.value === limits.defaultHours) ?? ok.at(-1))?.value;
}

/** How many hours an owner may still add to a VM's life now (never negative); null: it never expires. */
export function extendRoomHours(vm: Pick<Vm, "expiresAt">, limits: Limits, now: Date): number | null {
  if (vm.expiresAt === null) return null;
  const from = Math.max(now.getTime(), Date.parse(vm.expiresAt));
  const latest = now.getTime() + limits.maxHours * 3_600_000;
  return Math.max(0, Math.floor((latest - from) / 3_600_000));
}

/** The states a VM is on its way somewhere in: the page shows progress while it is in one. */
const BUSY: ReadonlySet<string> = new Set(["pending", "provisioning", "terminating"]);

export type Tone = "ok" | "busy" | "bad" | "idle";

export function stateTone(state: VmState, transition: Vm["transition"] = null): Tone {
  if (transition !== null) return "busy";
  if (state === "running") return "ok";
  if (BUSY.has(state)) return "busy";
  if (state === "failed") return "bad";
  return "idle";
}

/** What a state means, in a sentence a person reads under the badge. */
export const STATE_WORDS: Readonly<Record<string, string>> = {
  pending: "Waiting for its host to start it.",
  provisioning: "Its host is preparing the disk and booting it.",
  running: "Running.",
  stopped: "Stopped; its disk and name are kept.",
  expired: "Past its expiry: stopped and kept for the grace period. Extend it to start it again.",
  terminating: "Being shut down; its disks will be deleted.",
  terminated: "Terminated; its disks are deleted.",
  failed: "Failed; see the reason.",
};

/** The power buttons a VM's page offers now, in this order: Start, Reboot, Stop, as its state allows. */
export function powerActions(vm: Pick<Vm, "state" | "transition">): PowerAction[] {
  if (vm.transition !== null) return [];
  return (["start", "reboot", "stop"] as const).filter((a) => canPower(a, vm.state));
}

/** A button's name, and its words while the request is on its way. */
export const POWER_LABELS: Readonly<Record<PowerAction, { name: string; busy: string }>> = {
  start: { name: "Start", busy: "Starting…" },
  reboot: { name: "Reboot", busy: "Rebooting…" },
  stop: { name: "Stop", busy: "Stopping…" },
};

/** What the VM's node is still doing at its owner's request, in words; null when nothing. */
export function powerProgress(vm: Pick<Vm, "state" | "transition" | "responding">): string | null {
  if (vm.transition === "stopping") return "Stopping: its node is shutting it down…";
  if (vm.transition === "rebooting") return "Rebooting: its node is restarting it…";
  return null;
}

/** The steps a new VM walks through. */
export const DEPLOY_STEPS = ["Requested", "Booting", "Starting ssh", "Ready for ssh"] as const;

/** The step a VM is working on (those before it are done); the last one once it answers; -1 off the path. */
export function deployStep(vm: Pick<Vm, "state" | "responding">): number {
  if (vm.state === "pending" || vm.state === "provisioning") return 1;
  if (vm.state === "running") return vm.responding ? 3 : 2;
  return -1;
}

/** A VM may be terminated unless it is already on its way out. */
export function canTerminate(vm: Pick<Vm, "state">): boolean {
  return vm.state !== "terminating" && vm.state !== "terminated";
}

/** Extending an expired VM starts it again (its disk kept); a stopped one's life runs on while it is stopped. */
export function canExtend(vm: Pick<Vm, "state" | "expiresAt">): boolean {
  return vm.expiresAt !== null && canTerminate(vm) && vm.state !== "failed";
}

/** An admin looking at another's VM: they came from the admin list, and terminating it takes a reason. */
export function othersVm(me: Pick<Me, "username" | "admin">, vm: Pick<Vm, "owner">): boolean {
  return me.admin && vm.owner !== me.username;
}

/** An admin terminating another's VM says why: the owner reads it. */
export const reasonRequired = othersVm;

/** Whether a VM is on its way out, or gone: its live facts (expiry, ssh, liveness) no longer matter. */
export function isLeaving(vm: Pick<Vm, "state">): boolean {
  return vm.state === "terminating" || vm.state === "terminated";
}

/** Whether a VM is still coming up: its boot log grows, and is worth reading again. */
export function isBooting(vm: Pick<Vm, "state" | "responding">): boolean {
  return vm.state === "pending" || vm.state === "provisioning" || (vm.state === "running" && !vm.responding);
}

/** "in 1 day 4 h", "in 3 h 5 min", "in 10 min", "expired", "never": an expiry for the portal's tables. */
export function expiresIn(expiresAt: string | null, now: Date): string {
  const left = timeLeft(expiresAt, now);
  if (typeof left === "string") return left;
  if ("unreadable" in left) return left.unreadable;
  const { days, hours, minutes } = left;
  if (days > 0) return `in ${days} day${days === 1 ? "" : "s"}${hours > 0 ? ` ${hours} h` : ""}`;
  if (hours > 0) return `in ${hours} h${minutes > 0 ? ` ${minutes} min` : ""}`;
  return `in ${minutes} min`;
}

/** The lifetimes a new API token may be given. */
export const TOKEN_LIFETIMES: readonly { hours: number; label: string }[] = [
  { hours: 720, label: "30 days" },
  { hours: 2160, label: "90 days" },
  { hours: 8760, label: "1 year" },
  { hours: 0, label: "never" },
];

/** The audit actions vgrid writes, offered as suggestions in the audit log's filter. */
export const AUDIT_ACTIONS: readonly string[] = [
  "auth.login",
  "auth.login-failed",
  "auth.logout",
  "vm.deploy",
  "vm.terminate",
  "vm.extend",
  "vm.set-expiry",
  "token.create",
  "token.revoke",
  "user.ssh-keys",
];

/** The key types vgrid takes, and how many length-prefixed fields their data holds (the type first). */
const KEY_FIELDS: Readonly<Record<string, number>> = {
  "ssh-ed25519": 2,
  "ssh-rsa": 3,
  "ecdsa-sha2-nistp256": 3,
  "ecdsa-sha2-nistp384": 3,
  "ecdsa-sha2-nistp521": 3,
  "sk-ssh-ed25519@openssh.com": 3,
  "sk-ecdsa-sha2-nistp256@openssh.com": 4,
};

/** The length-prefixed fields of a key's data (RFC 4253's strings), or null when they do not add up. */
function keyFields(bytes: string): string[] | null {
  const fields: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) return null;
    const length = ((bytes.charCodeAt(at) << 24) | (bytes.charCodeAt(at + 1) << 16) | (bytes.charCodeAt(at + 2) << 8) | bytes.charCodeAt(at + 3)) >>> 0;
    at += 4;
    if (at + length > bytes.length) return null;
    fields.push(bytes.slice(at, at + length));
    at += length;
  }
  return fields;
}

/**
 * A pasted ssh public key checked as the person types: the key line (with `name` as its comment when
 * given), or the problem in words. The server checks it again, fully; this catches a private key, a
 * truncated paste or two keys at once before the person presses Add.
 */
export function checkSshKey(text: string, name = ""): { key: string } | { problem: string } {
  const trimmed = text.trim();
  if (trimmed === "") return { problem: "Paste the content of your public key file (~/.ssh/id_ed25519.pub)." };
  if (trimmed.includes("PRIVATE KEY")) return { problem: "This is a private key: never share it. Paste the .pub file's content instead." };
  if (/[\r\n]/.test(trimmed)) return { problem: "One key at a time: this text holds several lines." };
  const [type, blob, ...comment] = trimmed.split(/\s+/);
  if (type === undefined || KEY_FIELDS[type] === undefined) return { problem: `Not an OpenSSH public key: it should start with ssh-ed25519, ssh-rsa or ecdsa-sha2-..., as a .pub file does.` };
  if (blob === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return { problem: "The key's data is missing or cut short: paste the whole line." };
  let bytes: string;
  try {
    bytes = atob(blob);
  } catch {
    return { problem: "The key's data is not base64: paste the whole line, unchanged." };
  }
  const fields = keyFields(bytes);
  if (fields === null || fields.length !== KEY_FIELDS[type] || fields[0] !== type || (type === "ssh-ed25519" && fields[1]!.length !== 32)) {
    return { problem: `The key's data is not a whole ${type} key: it was cut or altered; paste the whole line.` };
  }
  // eslint-disable-next-line no-control-regex
  const label = (name.trim() || comment.join(" ")).replace(/[\u0000-\u001f\u007f]/g, "").slice(0, 200);
  return { key: label === "" ? `${type} ${blob}` : `${type} ${blob} ${label}` };
}

/** How a stored key reads in a list: its type, its comment (its name), and the end of its data. */
export function describeKey(key: string): { type: string; name: string; tail: string } {
  const [type = "", blob = "", ...comment] = key.trim().split(/\s+/);
  return { type, name: comment.join(" ") || "(no name)", tail: blob.length > 12 ? `…${blob.slice(-12)}` : blob };
}

/**
 * Whether `incoming` is at least as new as `known`: an event and an HTTP answer about one VM travel on
 * two connections, so the later copy (by the server's updatedAt) wins, whichever arrives last.
 */
export function isNewer(incoming: Pick<Vm, "updatedAt">, known: Pick<Vm, "updatedAt"> | undefined): boolean {
  return known === undefined || incoming.updatedAt >= known.updatedAt;
}

/** Whether a VM belongs in a list that shows VMs matching `filter` (the list's query). */
export function matchesList(vm: Vm, filter: { owner?: string; host?: string; image?: string; state?: string }): boolean {
  if (filter.state === undefined ? vm.state === "terminated" : vm.state !== filter.state) return false;
  if (filter.owner !== undefined && filter.owner !== "" && vm.owner !== filter.owner) return false;
  if (filter.host !== undefined && filter.host !== "" && vm.host !== filter.host) return false;
  if (filter.image !== undefined && filter.image !== "" && vm.image !== filter.image) return false;
  return true;
}

/**
 * A list of VMs after an event about `vm`: updated in place, added at the top when new and matching,
 * removed when it no longer matches (a terminated VM leaves My VMs).
 */
export function applyVmEvent(list: readonly Vm[], vm: Vm, filter: Parameters<typeof matchesList>[1]): Vm[] {
  const at = list.findIndex((v) => v.id === vm.id);
  if (at !== -1 && !isNewer(vm, list[at])) return [...list];
  const belongs = matchesList(vm, filter);
  if (at === -1) return belongs ? [vm, ...list] : [...list];
  if (!belongs) return list.filter((v) => v.id !== vm.id);
  const copy = [...list];
  copy[at] = vm;
  return copy;
}

/** A capacity bar of a host: used of the total, and its words. */
export interface Bar {
  label: string;
  used: number;
  max: number;
  words: string;
}

export function hostBars(host: Host): Bar[] {
  return [
    { label: "VMs", used: host.vms, max: host.maxVms, words: `${host.vms} of ${host.maxVms} VMs` },
    { label: "Memory", used: host.usedMemoryMiB, max: host.memoryMiB, words: `${mib(host.usedMemoryMiB)} of ${mib(host.memoryMiB)}` },
    { label: "CPUs", used: host.usedCpus, max: host.cpus, words: `${host.usedCpus} of ${host.cpus} cpus` },
  ];
}

/** "3 min ago", "just now": how long ago something was, for a heartbeat. */
export function ago(at: string | null, now: Date): string {
  if (at === null) return "never";
  const s = Math.round((now.getTime() - Date.parse(at)) / 1000);
  if (Number.isNaN(s)) return at;
  if (s < 5) return "just now";
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/**
 * A guest's console output made fit to show: terminal escape sequences and other control characters
 * removed (the guest is not trusted; the portal shows text, never a terminal's instructions).
 */
export function printableLog(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "")
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b[\]PX^_][^\u0007\u001b]*(\u0007|\u001b\\)?/g, "")
      .replace(/\r\n?/g, "\n")
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "")
      // Bidirectional controls would let a guest reorder what the reader sees.
      .replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "")
  );
}

/** What the connect column says of a VM that cannot be reached now: what would make it reachable. */
export function connectLater(state: VmState): string {
  const later: Partial<Record<VmState, string>> = {
    pending: "once it runs",
    provisioning: "once it runs",
    running: "once its node says its port",
    stopped: "start it to connect",
    expired: "extend it to start it",
  };
  return later[state] ?? "—";
}
