// HTTPS served by vgrid itself ([tls], and [auth.cert]'s CA): the PEM files read once at start and
// checked, so that a wrong path, a broken file or a key of another certificate is a ConfigError naming
// the key and the file, not a TLS error at the first browser's handshake.

import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ServerOptions } from "node:https";
import { ConfigError } from "../core/errors.js";
import type { ServerConfig } from "./config.js";

/** The options of Node's HTTPS server for `config`, or undefined without [tls]. */
export async function httpsOptions(config: ServerConfig): Promise<ServerOptions | undefined> {
  if (!config.tls) return undefined;
  const cert = await readPem(config.source, "tls.cert", config.tls.cert);
  const key = await readPem(config.source, "tls.key", config.tls.key);
  const leaf = certificates(config.source, "tls.cert", config.tls.cert, cert)[0]!;
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(config.source, "tls.key", `${config.tls.key} is not a private key in PEM form (or it is encrypted: vgrid needs it without a passphrase)`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new ConfigError(config.source, "tls.key", `${config.tls.key} is not the key of the certificate in ${config.tls.cert}: give the pair that was made together`);
  }
  const options: ServerOptions = { cert, key };
  if (config.auth.cert) {
    const ca = await readPem(config.source, "auth.cert.ca", config.auth.cert.ca);
    certificates(config.source, "auth.cert.ca", config.auth.cert.ca, ca);
    // Asked for, not required: a request without a certificate may still bring another credential,
    // and one whose certificate fails is answered a 401 that says why (the handshake cannot).
    Object.assign(options, { ca, requestCert: true, rejectUnauthorized: false });
  }
  return options;
}

export async function readPem(source: string, key: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (code ?? String(err));
    throw new ConfigError(source, key, `${path} cannot be read: ${why}`);
  }
}

/** The certificates of a PEM file; at least one, each well-formed. */
export function certificates(source: string, key: string, path: string, pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(source, key, `${path} holds no certificate in PEM form (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new ConfigError(source, key, `${path}: certificate ${i + 1} is not a valid certificate`);
    }
  });
}
