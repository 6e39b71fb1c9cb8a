// node.toml: its schema with defaults, read into a frozen NodeFileConfig (paths made absolute against
// the file's own directory).

import { dirname, resolve } from "node:path";
import { Type, type Static } from "typebox";
import { ConfigError } from "../core/errors.js";
import { HOST_NAME_PATTERN } from "../core/names.js";
import { nodeSecretProblem } from "../core/node-secret.js";
import { loadTomlConfig } from "../core/toml-config.js";

export const NodeFileSchema = Type.Object(
  {
    name: Type.String({ pattern: HOST_NAME_PATTERN }),
    server: Type.String({ pattern: "^https?://" }),
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
export type NodeFileConfig = Static<typeof NodeFileSchema>;

export async function loadNodeConfig(file: string): Promise<NodeFileConfig> {
  const c = await loadTomlConfig(file, NodeFileSchema);
  const problem = nodeSecretProblem(c.token);
  if (problem) throw new ConfigError(file, "token", problem);
  const base = dirname(resolve(file));
  return Object.freeze({ ...c, stateDir: resolve(base, c.stateDir), imageDirectory: resolve(base, c.imageDirectory) });
}
