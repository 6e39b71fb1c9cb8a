// node.toml: its schema with defaults, read into a frozen NodeFileConfig (paths made absolute against
// the file's own directory, the server's CA read and the server's URL checked: server-trust.ts).

import { dirname, resolve } from "node:path";
import { Type, type Static } from "typebox";
import { ConfigError } from "../core/errors.js";
import { HOST_NAME_PATTERN } from "../core/names.js";
import { nodeSecretProblem } from "../core/node-secret.js";
import { loadTomlConfig } from "../core/toml-config.js";
import { checkServerUrl, readServerCa, type ServerTrust } from "./server-trust.js";

export const NodeFileSchema = Type.Object(
  {
    name: Type.String({ pattern: HOST_NAME_PATTERN }),
    server: Type.String({ pattern: "^https?://[^/?#]+" }),
    /** The CA (PEM) the server's certificate must be signed by; unset: the system's CAs. */
    serverCa: Type.Optional(Type.String({ minLength: 1 })),
    /** Allows plain http:// to a server that is not this machine. */
    insecure: Type.Boolean({ default: false }),
    /** The same secret as the host's token in server.toml; checked by nodeSecretProblem. */
    token: Type.String(),
    stateDir: Type.String({ default: "node-state" }),
    imageDirectory: Type.String({ default: "images" }),
    sshBind: Type.String({ default: "0.0.0.0" }),
    sshHost: Type.Optional(Type.String()),
    /** The hypervisor driver; `sim` runs no VM at all (tests and benchmarks of the control plane). */
    driver: Type.Union([Type.Literal("qemu"), Type.Literal("sim")], { default: "qemu" }),
    /** With the sim driver: seconds from a VM's start to its guest answering. */
    simBootSeconds: Type.Number({ minimum: 0, maximum: 3600, default: 1 }),
  },
  { additionalProperties: false },
);
export type NodeFileConfig = Static<typeof NodeFileSchema> & {
  /** How the server's certificate is checked: serverCa's certificates, when given. */
  trust: ServerTrust;
};

export async function loadNodeConfig(file: string): Promise<NodeFileConfig> {
  const c = await loadTomlConfig(file, NodeFileSchema);
  const problem = nodeSecretProblem(c.token);
  if (problem) throw new ConfigError(file, "token", problem);
  await checkServerUrl(file, c.server, c.insecure);
  const base = dirname(resolve(file));
  const serverCa = c.serverCa === undefined ? undefined : resolve(base, c.serverCa);
  const trust: ServerTrust = serverCa === undefined ? {} : { ca: await readServerCa(file, serverCa), caSource: serverCa };
  return Object.freeze({
    ...c,
    ...(serverCa === undefined ? {} : { serverCa }),
    trust,
    stateDir: resolve(base, c.stateDir),
    imageDirectory: resolve(base, c.imageDirectory),
  });
}
