import assert from "node:assert/strict";
import { test } from "node:test";

import { certificateLogin, type PresentedCertificate } from "./client-cert.js";

const config = { ca: "/ca.pem", usernameField: "CN", require: { O: ["CERN"], OU: ["USERS", "CA"] } };
const good = (subject: PresentedCertificate["subject"]): PresentedCertificate => ({ authorized: true, subject });

test("a certificate's subject is a user, or refused with the reason its holder can act on", () => {
  const rows: Array<[string, PresentedCertificate | undefined, string | RegExp | undefined]> = [
    ["no certificate", undefined, undefined],
    ["CN, O and OU allowed", good({ CN: "alice", O: "CERN", OU: "USERS" }), "alice"],
    ["a space in the CN", good({ CN: "Erin Smith", O: "CERN", OU: "CA" }), "Erin_Smith"],
    ["one of several OU allowed", good({ CN: "bob", O: "CERN", OU: ["Other", "CA"] }), "bob"],
    ["O not allowed", good({ CN: "eve", O: "Evil", OU: "USERS" }), /has O 'Evil', which this portal does not allow/],
    ["no OU", good({ CN: "eve", O: "CERN" }), /has no OU, which this portal requires/],
    ["no CN", good({ O: "CERN", OU: "USERS" }), /has no CN to take the username from/],
    ["a CN vgrid does not allow", good({ CN: "../etc", O: "CERN", OU: "USERS" }), /names a user vgrid does not allow/],
    ["expired", { authorized: false, authorizationError: "CERT_HAS_EXPIRED", subject: { CN: "t" } }, /\(CN=t\) has expired/],
    ["foreign CA", { authorized: false, authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE", subject: { CN: "a" } }, /unknown CA/],
    ["another verify error", { authorized: false, authorizationError: "CERT_REJECTED", subject: { CN: "a" } }, /not accepted \(CERT_REJECTED\)/],
  ];
  for (const [what, cert, expected] of rows) {
    const login = certificateLogin(cert, config);
    if (expected === undefined) assert.deepEqual(login, { kind: "none" }, what);
    else if (typeof expected === "string") assert.deepEqual(login, { kind: "user", name: expected }, what);
    else {
      assert.equal(login.kind, "refused", what);
      assert.match(login.kind === "refused" ? login.why : "", expected, what);
    }
  }
});

test("the username may come from another subject field, such as emailAddress", () => {
  const login = certificateLogin(good({ CN: "Alice A", emailAddress: "alice@example.org" }), { ...config, usernameField: "emailAddress", require: {} });
  assert.deepEqual(login, { kind: "user", name: "alice@example.org" });
});
