// Certificates made by the real openssl for TLS tests: a CA of the site, a server certificate for
// 127.0.0.1 and localhost, client certificates with the subject a test asks for (valid, expired, or
// from a foreign CA). Everything is written under one directory the test removes.

import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Ca {
  /** The CA's certificate (PEM file). */
  cert: string;
  key: string;
  dir: string;
  name: string;
}

export interface KeyPair {
  cert: string;
  key: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A self-signed CA named `name`, its files in `dir`. */
export async function makeCa(dir: string, name: string): Promise<Ca> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await run("openssl", [
    "req", "-x509", ...EC, "-keyout", key, "-out", cert, "-days", "30", "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { cert, key, dir, name };
}

/** A key and its signing request for `subject` (OpenSSL's form: /CN=alice/O=CERN/OU=USERS). */
async function request(dir: string, stem: string, subject: string): Promise<{ csr: string; key: string }> {
  const csr = join(dir, `${stem}.csr`);
  const key = join(dir, `${stem}.key`);
  await run("openssl", ["req", ...EC, "-keyout", key, "-out", csr, "-subj", subject]);
  return { csr, key };
}

/** A certificate for `subject` signed by `ca`, valid for a day from now, with the given extensions. */
async function sign(ca: Ca, stem: string, subject: string, extensions: string): Promise<KeyPair> {
  const { csr, key } = await request(ca.dir, stem, subject);
  const ext = join(ca.dir, `${stem}.ext`);
  await writeFile(ext, extensions);
  const cert = join(ca.dir, `${stem}.pem`);
  await run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", cert]);
  return { cert, key };
}

/** A server certificate for `names` (OpenSSL's subjectAltName form), by default 127.0.0.1, ::1 and localhost. */
export function serverCertificate(ca: Ca, stem = "server", names = "IP:127.0.0.1, IP:::1, DNS:localhost"): Promise<KeyPair> {
  return sign(ca, stem, "/CN=localhost", `subjectAltName = ${names}\nextendedKeyUsage = serverAuth\n`);
}

/** A client certificate for `subject`. */
export function clientCertificate(ca: Ca, stem: string, subject: string): Promise<KeyPair> {
  return sign(ca, stem, subject, "extendedKeyUsage = clientAuth\n");
}

/**
 * A client certificate whose validity ended long ago (2020-01-01 to 2020-01-02): `openssl ca`, since
 * Debian 12's `openssl x509` (OpenSSL 3.0) cannot set the start date.
 */
export async function expiredClientCertificate(ca: Ca, stem: string, subject: string): Promise<KeyPair> {
  const { csr, key } = await request(ca.dir, stem, subject);
  const db = join(ca.dir, `${stem}.index`);
  const config = join(ca.dir, `${stem}.ca.cnf`);
  await writeFile(db, "");
  await writeFile(join(ca.dir, `${stem}.serial`), "1000\n");
  await writeFile(
    config,
    [
      "[ca]", "default_ca = test",
      "[test]", `database = ${db}`, `new_certs_dir = ${ca.dir}`, `certificate = ${ca.cert}`, `private_key = ${ca.key}`,
      `serial = ${join(ca.dir, `${stem}.serial`)}`, "default_md = sha256", "policy = any", "unique_subject = no", "preserve = yes",
      "[any]", "commonName = supplied", "organizationName = optional", "organizationalUnitName = optional", "",
    ].join("\n"),
  );
  const cert = join(ca.dir, `${stem}.pem`);
  await run("openssl", ["ca", "-batch", "-config", config, "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext", "-in", csr, "-out", cert]);
  return { cert, key };
}
