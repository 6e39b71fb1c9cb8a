// A node's secret: the token a node proves it is a host of the pool with, written in both server.toml
// and node.toml. One word, long and random: `vgrid config new-node-secret` makes one.

/** Long enough that guessing is out of reach: `vgrid config new-node-secret` prints 43 random characters. */
export const MIN_NODE_SECRET_LENGTH = 32;

export function newNodeSecret(): string {
  // node:crypto is taken when called, not imported: an idle node agent never loads it (3 MB).
  return process.getBuiltinModule("node:crypto").randomBytes(32).toString("base64url");
}

/** Why `secret` cannot be a node's secret, or undefined when it can. */
export function nodeSecretProblem(secret: string): string | undefined {
  if (/\s/.test(secret)) {
    return "contains whitespace, which a token sent over HTTP cannot carry; use one word, such as `vgrid config new-node-secret` prints";
  }
  if (secret.length < MIN_NODE_SECRET_LENGTH) {
    return `is shorter than ${MIN_NODE_SECRET_LENGTH} characters; use a long random one, such as \`vgrid config new-node-secret\` prints`;
  }
  return undefined;
}
