// A single sign-on login under way, kept in the browser and not in the store: unauthenticated
// requests never write a row (the session-store flooding of Horizon's CVE-2014-8124). The cookie is
// sealed with AES-256-GCM under a server key: the browser can neither read the PKCE verifier nor
// change the state, nonce or landing path without the seal failing.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** How long a login may take at the provider. */
export const LOGIN_FLOW_MINUTES = 10;

export interface LoginFlow {
  state: string;
  nonce: string;
  /** The PKCE code verifier (S256). */
  verifier: string;
  /** Where to land afterwards: a portal path (safeNext). */
  next: string;
  /** When the flow ends (ms since the epoch). */
  expiresAt: number;
}

/** Binds a sealed cookie to its purpose: a seal made for something else never opens as a flow. */
const PURPOSE = Buffer.from("vgrid oidc login flow v1");
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function sealFlow(key: Buffer, flow: LoginFlow): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(PURPOSE);
  const body = Buffer.concat([cipher.update(JSON.stringify(flow), "utf8"), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
}

export type FlowOpening = { flow: LoginFlow } | { refused: "forged" | "expired" };

/** The flow a sealed cookie holds, unless it is not one of ours (or was changed) or its time is up. */
export function openFlow(key: Buffer, sealed: string, now: Date): FlowOpening {
  const raw = Buffer.from(sealed, "base64url");
  if (raw.length <= IV_BYTES + TAG_BYTES || sealed.length > 4096) return { refused: "forged" };
  let flow: LoginFlow;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES)).setAAD(PURPOSE);
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString("utf8");
    flow = JSON.parse(text) as LoginFlow;
  } catch {
    return { refused: "forged" };
  }
  if (!(flow.expiresAt > now.getTime())) return { refused: "expired" };
  return { flow };
}
