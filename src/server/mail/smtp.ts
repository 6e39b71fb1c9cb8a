// How vgrid speaks to its SMTP server ([mail]): nodemailer's options from the settings, a Message-ID
// made from the mail's key (so that the one resend API.md allows is recognisably the same mail), and
// an SMTP failure in words an operator can act on, never with the password in them.

import { createHash } from "node:crypto";
import type { NodemailerError } from "nodemailer/lib/errors";
import type { SMTPTransportOptions } from "nodemailer/lib/smtp-transport";
import type { MailConfig } from "../config.js";

/** Connecting and the server's greeting: a server that says nothing this long is not going to. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Silence in the middle of a conversation. */
const SOCKET_TIMEOUT_MS = 15_000;
/** One mail, from connecting to the server's acceptance: the sender's claims are sized by it. */
export const SEND_DEADLINE_MS = 20_000;

/**
 * nodemailer's options for [mail]: `starttls` requires STARTTLS (a server that does not offer it is an
 * error, never a silent plain-text send), `tls` is TLS from the first byte (port 465), `none` never
 * encrypts; `ca` (the PEM text of [mail] ca) replaces the system's CAs; auth only when `user` is set.
 */
export function transportOptions(mail: MailConfig, ca: string | undefined): SMTPTransportOptions {
  return {
    host: mail.host,
    port: mail.port,
    secure: mail.security === "tls",
    requireTLS: mail.security === "starttls",
    ignoreTLS: mail.security === "none",
    ...(mail.user === undefined ? {} : { auth: { user: mail.user, pass: mail.password ?? "" } }),
    tls: { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) },
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    dnsTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    // A mail is the text and HTML vgrid composed: nothing in it may make the sender read a file or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** The domain of [mail] from ("vgrid <vgrid@example.org>" gives example.org), or undefined when it has none. */
export function fromDomain(from: string): string | undefined {
  const address = /<([^<>]*)>\s*$/.exec(from)?.[1] ?? from.trim();
  const domain = /^[^\s@]+@([A-Za-z0-9.-]+\.[A-Za-z0-9-]+|[A-Za-z0-9-]+)$/.exec(address)?.[1];
  return domain;
}

/** The Message-ID of the mail of `key`: the same key always makes the same one, whoever sends it. */
export function messageIdFor(key: string, domain: string): string {
  return `<${createHash("sha256").update(key).digest("hex")}@${domain}>`;
}

export interface SmtpFailure {
  /** What went wrong and what to check, without the password. */
  words: string;
  /** The server refused this mail itself, for good (an unknown recipient): no retry would change that. */
  permanent: boolean;
  /** The server could not be reached or spoken to, or refuses the sender: every other mail due would fail alike. */
  blocksAll: boolean;
}

/** A nodemailer error in words an operator can act on; `mail` for the server's name and to keep the password out. */
export function describeFailure(err: unknown, mail: MailConfig): SmtpFailure {
  const e = (err ?? {}) as NodemailerError;
  const server = `the SMTP server ${mail.host}:${mail.port}`;
  const cause = e.originalCode ?? e.code;
  const reply = e.response === undefined ? "" : ` (it answered: ${oneLine(e.response)})`;
  const said = (words: string, permanent = false, blocksAll = false): SmtpFailure => ({ words: scrub(words, mail), permanent, blocksAll });
  const message = oneLine(e.message ?? String(err));
  if (e.name === "AbortError" || cause === "EABORT") {
    return said(`${server} did not take the mail within ${SEND_DEADLINE_MS / 1000} s; it is tried again`, false, true);
  }
  switch (cause) {
    case "ECONNREFUSED":
      return said(`${server} refused the connection: is it running, and are [mail] host and port right?`, false, true);
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EDNS":
      return said(`the SMTP server's name ${mail.host} does not resolve: check [mail] host`, false, true);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return said(`${server} cannot be reached from here (${cause}): check [mail] host and the network`, false, true);
    case "ECONNRESET":
      return said(`${server} closed the connection${reply}: check [mail] port and security (${mail.security})`, false, true);
    case "ETIMEDOUT":
      return said(`${server} did not answer in time (${timeoutWhat(e.timeoutType)}): is it running, and are [mail] host, port and security (${mail.security}) right?`, false, true);
  }
  if (/certificate|self[- ]signed|unable to (get|verify)/i.test(message) || /^(CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(cause ?? "")) {
    return said(
      `${server}'s TLS certificate is not trusted (${message})${mail.ca === undefined ? ": if it is signed by the site's own CA, give that CA's PEM file as [mail] ca" : `: is it signed by the CA of [mail] ca (${mail.ca})?`}`,
      false,
      true,
    );
  }
  if (cause === "ETLS" || /STARTTLS/i.test(message)) {
    return said(
      `${server} could not be spoken to over TLS (${message}): with security = "starttls" the server must offer STARTTLS; use "tls" for a server that speaks TLS from the start (usually port 465)`,
      false,
      true,
    );
  }
  if (cause === "EAUTH" || cause === "ENOAUTH") {
    return said(`${server} refused the login${mail.user === undefined ? "" : ` of ${mail.user}`}${reply}: check [mail] user and password`, false, true);
  }
  if (e.responseCode !== undefined) {
    const permanent = e.permanent === true && e.command === "RCPT TO";
    const command = e.command === undefined ? "" : e.command === "CONN" ? " on connecting" : ` to ${e.command}`;
    const fix = permanent ? ": it does not take mail for this address; check [mail] userAddress or the user's address" : "";
    // A refusal of this mail (its recipient, its content) is its own; any other (the greeting, the
    // sender's address) would meet every mail alike.
    const ofThisMail = e.command === "RCPT TO" || e.command === "DATA";
    return said(`${server} answered ${e.responseCode}${command}: ${oneLine(e.response ?? message)}${fix}`, permanent, !ofThisMail);
  }
  if (cause === "ECONNECTION" || cause === "ESOCKET") {
    return said(`${server} could not be spoken to (${message}): check [mail] host, port and security (${mail.security})`, false, true);
  }
  return said(`sending to ${server} failed: ${message}`);
}

function timeoutWhat(type: NodemailerError["timeoutType"]): string {
  switch (type) {
    case "CONNECT_TIMEOUT":
      return "connecting";
    case "GREETING_TIMEOUT":
      return "no greeting: a server that speaks TLS from the start wants security = \"tls\"";
    case "UPGRADE_TIMEOUT":
      return "the TLS handshake";
    default:
      return "it fell silent";
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 500);
}

/**
 * The password out of what is kept and logged, should a server ever echo it back: as written, and as
 * the base64 of the AUTH PLAIN and AUTH LOGIN exchanges carry it.
 */
function scrub(words: string, mail: MailConfig): string {
  const { password, user } = mail;
  if (password === undefined || password === "") return words;
  const forms = [password, Buffer.from(password).toString("base64"), Buffer.from(`\u0000${user ?? ""}\u0000${password}`).toString("base64")];
  return forms.reduce((text, form) => text.split(form).join("[password]"), words);
}
