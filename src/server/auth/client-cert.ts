// Client certificates ([auth.cert]): what the TLS handshake of a request's socket says about the
// certificate it presented, turned into a username or into the reason it is refused. Node checked the
// chain against [auth.cert] ca (and the dates) in the handshake; here are the seed's SSLRequire on the
// subject, and the username from one of its fields.

import type { TLSSocket } from "node:tls";
import { normalizeUsername, printable } from "../../core/names.js";
import type { AuthConfig } from "../config.js";

export type CertConfig = NonNullable<AuthConfig["cert"]>;

/** A subject as Node gives it: a field seen several times (OU) is a list. */
export type Subject = Record<string, string | string[] | undefined>;

/** What a socket's handshake holds: whether the chain was verified, why not, and the subject. */
export interface PresentedCertificate {
  authorized: boolean;
  /** OpenSSL's verify code (CERT_HAS_EXPIRED...) when not authorized. */
  authorizationError?: string;
  subject: Subject;
}

export type CertificateLogin =
  | { kind: "none" }
  | { kind: "user"; name: string }
  /** `who`: the username it would have been, for the audit; `why`: the reason in words the holder can act on. */
  | { kind: "refused"; who: string; why: string };

/** The certificate `socket` presented, or undefined without one (or without TLS, as in inject()). */
export function presentedCertificate(socket: unknown): PresentedCertificate | undefined {
  const tls = socket as Partial<TLSSocket> | null;
  if (typeof tls?.getPeerCertificate !== "function") return undefined;
  const cert = tls.getPeerCertificate();
  // Without a certificate Node answers an empty object (or null once the socket is gone).
  if (cert === null || typeof cert !== "object" || cert.subject === undefined) return undefined;
  const error = tls.authorizationError;
  return {
    authorized: tls.authorized === true,
    ...(error === undefined || error === null ? {} : { authorizationError: typeof error === "string" ? error : error.message }),
    subject: cert.subject,
  };
}

/** OpenSSL's verify codes, in the words a certificate's holder can act on. */
const VERIFY_REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: "has expired: ask your CA for a new one",
  CERT_NOT_YET_VALID: "is not valid yet (its start date is in the future)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "is not signed by a CA this portal trusts (unknown CA)",
  UNABLE_TO_GET_ISSUER_CERT: "is not signed by a CA this portal trusts (unknown CA)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "is not signed by a CA this portal trusts (unknown CA)",
  SELF_SIGNED_CERT_IN_CHAIN: "is not signed by a CA this portal trusts (unknown CA)",
  DEPTH_ZERO_SELF_SIGNED_CERT: "is self-signed, not signed by a CA this portal trusts (unknown CA)",
  CERT_SIGNATURE_FAILURE: "has a signature that does not verify (unknown CA or a tampered certificate)",
  INVALID_PURPOSE: "is not meant for client authentication (its extended key usage)",
};

function values(subject: Subject, field: string): string[] {
  const value = subject[field];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The login a presented certificate makes, by [auth.cert]: its user, or why it is refused. */
export function certificateLogin(cert: PresentedCertificate | undefined, config: CertConfig): CertificateLogin {
  if (cert === undefined) return { kind: "none" };
  const raw = values(cert.subject, config.usernameField)[0];
  let name: string | undefined;
  try {
    name = raw === undefined ? undefined : normalizeUsername(raw);
  } catch {
    name = undefined;
  }
  const who = name ?? "(invalid username)";
  const refuse = (why: string): CertificateLogin => ({ kind: "refused", who, why: `your client certificate${raw === undefined ? "" : ` (${config.usernameField}=${printable(raw)})`} ${why}` });
  if (!cert.authorized) {
    const code = cert.authorizationError ?? "unknown";
    return refuse(VERIFY_REASONS[code] ?? `was not accepted (${code})`);
  }
  for (const [field, allowed] of Object.entries(config.require)) {
    const own = values(cert.subject, field);
    if (!own.some((v) => allowed.includes(v))) {
      return refuse(own.length === 0 ? `has no ${field}, which this portal requires` : `has ${field} ${own.map((v) => `'${printable(v)}'`).join(", ")}, which this portal does not allow`);
    }
  }
  if (raw === undefined) return refuse(`has no ${config.usernameField} to take the username from`);
  if (name === undefined) return refuse(`names a user vgrid does not allow in its ${config.usernameField}: use 1-64 letters, digits, '_', '.', '@' or '-'`);
  return { kind: "user", name };
}
