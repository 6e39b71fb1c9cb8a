// Certificates made by openssl for the tests: a CA of the test's own and certificates it signs.

import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Pem {
  cert: string;
  key: string;
  /** The certificate's file. */
  certFile: string;
  keyFile: string;
}

/** A self-signed CA named `name`, in `dir`. */
export async function makeCa(dir: string, name = "vgrid test CA"): Promise<Pem> {
  const certFile = join(dir, `${name.replace(/\W+/g, "-")}.pem`);
  const keyFile = certFile.replace(/\.pem$/, ".key");
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", keyFile, "-out", certFile]);
  return { cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8"), certFile, keyFile };
}

/** A server certificate for 127.0.0.1 and localhost, signed by `ca`. */
export async function makeServerCert(dir: string, ca: Pem, name = "server"): Promise<Pem> {
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost", "-keyout", keyFile, "-out", csr]);
  await run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", certFile]);
  return { cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8"), certFile, keyFile };
}
