// Whom a node believes to be its server (node.toml `server`, `serverCa`, `insecure`): plain HTTP only
// to this machine unless the operator says otherwise, and over HTTPS a certificate checked against
// the site's CA, or the system's. The node's secret and every order it takes cross this link.

import { ConfigError } from "../core/errors.js";

/** How the node checks the server's certificate over HTTPS. */
export interface ServerTrust {
  /** The CAs to trust instead of the system's, PEM. */
  ca?: string;
  /** Where `ca` came from, named when the server's certificate does not verify. */
  caSource?: string;
  /**
   * Trust exactly the certificate of this SHA-256 fingerprint (as X509Certificate.fingerprint256
   * writes it), whatever names it carries: `vgrid up`'s local node and its own in-process server.
   */
  pinnedFingerprint?: string;
}

/** Whether `address` (an IP address) is one of this machine's loopback addresses. */
function isLoopbackAddress(address: string): boolean {
  const plain = address.replace(/^::ffff:(?=[0-9.]+$)/i, "");
  return plain.startsWith("127.") || plain === "::1";
}

/**
 * Refuses a plain http:// server that is not this machine unless `insecure`: a name counts as this
 * machine when every address it resolves to is loopback.
 */
export async function checkServerUrl(file: string, server: string, insecure: boolean): Promise<void> {
  const url = new URL(server);
  if (url.protocol !== "http:" || insecure) return;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const { isIP } = process.getBuiltinModule("node:net");
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      // Taken when needed: an agent on loopback or HTTPS never looks a name up here.
      addresses = (await process.getBuiltinModule("node:dns").promises.lookup(host, { all: true })).map((a) => a.address);
    } catch {
      addresses = [];
    }
  }
  if (addresses.length > 0 && addresses.every(isLoopbackAddress)) return;
  throw new ConfigError(
    file,
    "server",
    `'${server}' is plain HTTP to another machine: the node's secret and the server's orders would cross the network unprotected. ` +
      `Serve the server over HTTPS ([tls] in server.toml) and write server = "https://..." (with serverCa = "ca.pem" when its CA is the site's own), ` +
      `or add insecure = true to node.toml to allow plain HTTP on a network you trust`,
  );
}

/** The CA file's certificates, checked: at least one, each well-formed. */
export async function readServerCa(file: string, path: string): Promise<string> {
  let pem: string;
  try {
    pem = await process.getBuiltinModule("node:fs/promises").readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, "serverCa", `${path} cannot be read: ${code === "ENOENT" ? "no such file" : (code ?? String(err))}`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(file, "serverCa", `${path} holds no certificate in PEM form (-----BEGIN CERTIFICATE-----)`);
  // node:crypto only when a CA file is given: that node speaks TLS, which loads it anyway.
  const { X509Certificate } = process.getBuiltinModule("node:crypto");
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch {
      throw new ConfigError(file, "serverCa", `${path}: certificate ${i + 1} is not a valid certificate`);
    }
  });
  return pem;
}

/** The TLS options of the node's connections to an https server, from its trust. */
export function tlsOptions(trust: ServerTrust): Record<string, unknown> {
  if (trust.pinnedFingerprint !== undefined) {
    const pinned = trust.pinnedFingerprint;
    return {
      ca: trust.ca,
      // The certificate itself is the trust anchor, even when a CA signed it.
      allowPartialTrustChain: true,
      checkServerIdentity: (_host: string, cert: { fingerprint256?: string }) =>
        cert.fingerprint256 === pinned ? undefined : new Error("the server's certificate is not the one vgrid up started it with"),
    };
  }
  return trust.ca === undefined ? {} : { ca: trust.ca };
}

/** OpenSSL's and Node's codes for a server certificate the node does not trust. */
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** `err` in words that name the fix when it is a certificate the node refused; otherwise `err`. */
export function explainTlsError(err: unknown, trust: ServerTrust): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined || !UNTRUSTED.has(code)) return err;
  const message = (err as Error).message;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new Error(`the server's certificate is not for the name in node.toml's server (${message}): use a name the certificate carries`);
  }
  const whose = trust.caSource !== undefined ? `the CA of serverCa (${trust.caSource})` : "any CA this system trusts (set serverCa in node.toml to the site's CA)";
  return new Error(`the server's certificate is not trusted: ${message} (${code}); it must be valid and signed by ${whose}`);
}
