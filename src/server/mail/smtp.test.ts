import assert from "node:assert/strict";
import { test } from "node:test";
import type { MailConfig } from "../config.js";
import { describeFailure, fromDomain, messageIdFor, transportOptions } from "./smtp.js";

const mail: MailConfig = {
  host: "smtp.example.org",
  port: 587,
  security: "starttls",
  user: "vgrid",
  password: "hunter2-secret",
  from: "vgrid <vgrid@example.org>",
  userAddress: "${username}@example.org",
  admins: [],
};

test("[mail] security: starttls requires STARTTLS, tls is TLS from the start, none never encrypts; auth only with a user", () => {
  const starttls = transportOptions(mail, "PEM");
  assert.deepEqual([starttls.secure, starttls.requireTLS, starttls.ignoreTLS, starttls.tls?.ca], [false, true, false, "PEM"]);
  assert.deepEqual(starttls.auth, { user: "vgrid", pass: "hunter2-secret" });
  const tls = transportOptions({ ...mail, security: "tls" }, undefined);
  assert.deepEqual([tls.secure, tls.requireTLS, tls.ignoreTLS, tls.tls?.ca], [true, false, false, undefined]);
  const { user: _user, password: _password, ...anonymous } = mail;
  const none = transportOptions({ ...anonymous, security: "none" }, undefined);
  assert.deepEqual([none.secure, none.requireTLS, none.ignoreTLS, none.auth], [false, false, true, undefined]);
});

test("a Message-ID is the same for the same key, another for another, at the domain of [mail] from", () => {
  assert.equal(fromDomain("vgrid <vgrid@lab.example.org>"), "lab.example.org");
  assert.equal(fromDomain("vgrid@example.org"), "example.org");
  assert.equal(fromDomain("vgrid"), undefined);
  const id = messageIdFor("expiry-warning:vm:1", "example.org");
  assert.match(id, /^<[0-9a-f]{64}@example\.org>$/);
  assert.equal(messageIdFor("expiry-warning:vm:1", "example.org"), id);
  assert.notEqual(messageIdFor("expiry-warning:vm:2", "example.org"), id);
});

const failures: Array<{ why: string; err: object; words: RegExp; permanent?: boolean; blocksAll: boolean }> = [
  { why: "nothing listens", err: { code: "ESOCKET", originalCode: "ECONNREFUSED", message: "connect ECONNREFUSED" }, words: /refused the connection: is it running/, blocksAll: true },
  { why: "a name that does not resolve", err: { code: "EDNS", message: "getaddrinfo ENOTFOUND" }, words: /does not resolve: check \[mail\] host/, blocksAll: true },
  { why: "a timeout", err: { code: "ETIMEDOUT", timeoutType: "GREETING_TIMEOUT", message: "Greeting never received" }, words: /security = "tls"/, blocksAll: true },
  { why: "an untrusted certificate", err: { code: "ESOCKET", message: "self-signed certificate in certificate chain" }, words: /not trusted .*\[mail\] ca/, blocksAll: true },
  { why: "a wrong password", err: { code: "EAUTH", response: "535 authentication credentials invalid", responseCode: 535, command: "AUTH PLAIN", message: "Invalid login" }, words: /refused the login of vgrid .*535.*check \[mail\] user and password/, blocksAll: true },
  { why: "an unknown recipient", err: { code: "EENVELOPE", response: "550 no such user", responseCode: 550, permanent: true, command: "RCPT TO", message: "Recipient rejected" }, words: /550 to RCPT TO: 550 no such user: it does not take mail for this address/, permanent: true, blocksAll: false },
  { why: "a busy server", err: { code: "EPROTOCOL", response: "421 busy", responseCode: 421, permanent: false, command: "CONN", message: "busy" }, words: /answered 421 on connecting: 421 busy/, blocksAll: true },
];

for (const row of failures) {
  test(`an SMTP failure in words: ${row.why}`, () => {
    const failure = describeFailure(Object.assign(new Error(""), row.err), mail);
    assert.match(failure.words, row.words);
    assert.equal(failure.permanent, row.permanent ?? false);
    assert.equal(failure.blocksAll, row.blocksAll);
  });
}

test("the password never appears in a failure's words, as written nor as AUTH PLAIN's base64", () => {
  const plain = Buffer.from("\u0000vgrid\u0000hunter2-secret").toString("base64");
  const failure = describeFailure(Object.assign(new Error(`AUTH PLAIN ${plain} rejected for hunter2-secret`), { code: "EPROTOCOL" }), mail);
  assert.ok(!failure.words.includes("hunter2-secret") && !failure.words.includes(plain), failure.words);
  assert.match(failure.words, /\[password\]/);
});
