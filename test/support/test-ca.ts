// A CA made by openssl for one test and a server certificate it signed for 127.0.0.1 and localhost,
// read into memory: for the test's own HTTPS servers (an OpenID provider, a key repository...).

import { readFile } from "node:fs/promises";
import { makeCa, serverCertificate } from "./certs.js";

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
  const ca = await makeCa(dir, name.replace(/\W+/g, "-"));
  const server = await serverCertificate(ca);
  const [caPem, cert, key] = await Promise.all([readFile(ca.cert, "utf8"), readFile(server.cert, "utf8"), readFile(server.key, "utf8")]);
  return { ca: caPem, caFile: ca.cert, cert, key };
}
