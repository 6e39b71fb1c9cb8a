// A certificate authority made by openssl for one test, and a server certificate it signed for
// 127.0.0.1 and localhost: for the test's own HTTPS servers (an OpenID provider...).

import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCertificates {
  /** The CA's certificate (PEM), and its file. */
  ca: string;
  caFile: string;
  /** The server's certificate and key (PEM). */
  cert: string;
  key: string;
}

/** Makes a CA named `name` in `dir`, and a server certificate it signed for 127.0.0.1 and localhost. */
export async function makeTestCertificates(dir: string, name: string): Promise<TestCertificates> {
  const file = (f: string) => join(dir, f);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run("openssl", ["req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  await run("openssl", ["req", ...ec, "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=localhost"]);
  await writeFile(file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n");
  await run("openssl", ["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial",
    "-out", file("server.pem"), "-days", "2", "-extfile", file("server.ext")]);
  const [ca, cert, key] = await Promise.all([readFile(file("ca.pem"), "utf8"), readFile(file("server.pem"), "utf8"), readFile(file("server.key"), "utf8")]);
  return { ca, caFile: file("ca.pem"), cert, key };
}
