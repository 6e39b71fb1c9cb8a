// node.toml: its schema with defaults.

import { dirname, resolve } from "node:path";
import { Type, type Static } from "typebox";
import { loadTomlConfig } from "../core/toml-config.js";

export const NodeFileSchema = Type.Object(
  {
    name: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$" }),
    server: Type.String({ pattern: "^https?://" }),
    token: Type.String({ minLength: 16 }),
    stateDir: Type.String({ default: "node-state" }),
    imageDirectory: Type.String({ default: "images" }),
    sshBind: Type.String({ default: "0.0.0.0" }),
    sshHost: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type NodeFileConfig = Static<typeof NodeFileSchema>;

export async function loadNodeConfig(file: string): Promise<NodeFileConfig> {
  const c = await loadTomlConfig(file, NodeFileSchema);
  const base = dirname(resolve(file));
  return Object.freeze({ ...c, stateDir: resolve(base, c.stateDir), imageDirectory: resolve(base, c.imageDirectory) });
}
