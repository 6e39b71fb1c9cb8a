// Every file of a VM's directory on the node, by name: an agent restart finds a VM again from these.
// Layout: <stateDir>/vms/<vm id>/{spec.json, overlay.qcow2, seed.iso, seed/, qmp.sock, console.log, ...}

import path from "node:path";

import { Invalid } from "../../../core/errors.js";
import { isVmId, printable } from "../../../core/names.js";

/** The folder of stateDir that holds one directory per VM, named by the VM's id. */
export const VMS_DIR = "vms";

/** The VmSpec the VM was created from (JSON): what an adopting agent knows of a VM it did not create. */
export const SPEC_FILE = "spec.json";
/** The VM's disk: a qcow2 overlay whose backing file is the image's disk in the image directory. */
export const OVERLAY_FILE = "overlay.qcow2";
/** The cloud-init NoCloud seed (ISO 9660, volume id `cidata`), attached read-only. */
export const SEED_ISO_FILE = "seed.iso";
/** The folder the seed ISO is packed from (user-data, meta-data): kept to show what the guest got. */
export const SEED_DIR = "seed";
/** QEMU's QMP control socket (unix socket, QEMU is the server). */
export const QMP_SOCKET_FILE = "qmp.sock";
/** QEMU writes its PID here (`-pidfile`): how a restarted agent finds the process again. */
export const PID_FILE = "qemu.pid";
/** The guest's serial console, written by QEMU (from zero at every start: a chardev file truncates). */
export const CONSOLE_LOG_FILE = "console.log";
/**
 * The name of console.log's current run: random, written before each start of QEMU, so that the
 * agent (this one or the next) tells a console written anew from more of the one it shipped.
 */
export const CONSOLE_STREAM_FILE = "console.stream";
/** QEMU's own stderr: why it refused to start or died. */
export const QEMU_LOG_FILE = "qemu.log";
/** The forwarded ssh port on the node (a decimal number): the port survives an agent restart. */
export const SSH_PORT_FILE = "ssh-port";

/** Linux limits a unix socket path to 107 bytes (sun_path is 108 with the NUL). */
const UNIX_SOCKET_PATH_MAX = 107;

/** The absolute paths of one VM's files. */
export interface VmPaths {
  dir: string;
  spec: string;
  overlay: string;
  seedIso: string;
  seedDir: string;
  qmpSocket: string;
  pidFile: string;
  consoleLog: string;
  consoleStream: string;
  qemuLog: string;
  sshPort: string;
}

/** The folder that holds every VM's directory. */
export function vmsDir(stateDir: string): string {
  return path.join(path.resolve(stateDir), VMS_DIR);
}

/** The directory of VM `id`. The id must be a VM id (a UUID): a path is never made from a name. */
export function vmDir(stateDir: string, id: string): string {
  if (!isVmId(id)) {
    throw new Invalid("id", `'${printable(id)}' is not a VM id (a lowercase UUID)`);
  }
  return path.join(vmsDir(stateDir), id);
}

/** Every file of VM `id`, as absolute paths. */
export function vmPaths(stateDir: string, id: string): VmPaths {
  const dir = vmDir(stateDir, id);
  const paths: VmPaths = {
    dir,
    spec: path.join(dir, SPEC_FILE),
    overlay: path.join(dir, OVERLAY_FILE),
    seedIso: path.join(dir, SEED_ISO_FILE),
    seedDir: path.join(dir, SEED_DIR),
    qmpSocket: path.join(dir, QMP_SOCKET_FILE),
    pidFile: path.join(dir, PID_FILE),
    consoleLog: path.join(dir, CONSOLE_LOG_FILE),
    consoleStream: path.join(dir, CONSOLE_STREAM_FILE),
    qemuLog: path.join(dir, QEMU_LOG_FILE),
    sshPort: path.join(dir, SSH_PORT_FILE),
  };
  if (Buffer.byteLength(paths.qmpSocket) > UNIX_SOCKET_PATH_MAX) {
    throw new Invalid(
      "stateDir",
      `state directory '${printable(stateDir)}' is too long: the QMP socket path ${paths.qmpSocket} exceeds ` +
        `${UNIX_SOCKET_PATH_MAX} bytes; choose a shorter state directory`,
    );
  }
  return paths;
}
