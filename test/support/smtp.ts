// A real SMTP server on 127.0.0.1 for mail tests (the smtp-server package), with what arrives parsed by
// mailparser: plain, STARTTLS or implicit TLS with a test CA's certificate, with or without a login; it
// can refuse connections, or be stopped and started again on the same port, as a mail relay that is
// down for a while would be.

import { createServer, type AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";

export interface ReceivedMail {
  /** The envelope's recipients, as RCPT TO gave them. */
  to: string[];
  from: string;
  /** Whether it came over TLS (STARTTLS or implicit). */
  secure: boolean;
  /** Who logged in to send it, if anyone. */
  user: string | undefined;
  parsed: ParsedMail;
  header(name: string): string | undefined;
}

export interface SmtpOptions {
  /** Offer STARTTLS ("starttls") or speak TLS from the first byte ("tls") with this certificate; none: plain. */
  tls?: { mode: "starttls" | "tls"; cert: string; key: string };
  /** The one login accepted; without it, no login is asked for. */
  login?: { user: string; password: string };
  /** A port to listen on (one a previous server of the test had); a free one otherwise. */
  port?: number;
}

export interface TestSmtp {
  port: number;
  received: ReceivedMail[];
  /** Answers each new connection 421, as a server that is overloaded or shutting down does. */
  refusing: boolean;
  /** Resolves once `count` mails have arrived, or fails after `ms` naming what did. */
  waitFor(count: number, ms?: number): Promise<ReceivedMail[]>;
  /** Stops listening: from now on nothing answers on its port. */
  stop(): Promise<void>;
}

/** A port nothing listens on now (the kernel's choice), for a server that is not there yet. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function startSmtp(options: SmtpOptions = {}): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const state = { refusing: false };
  const serverOptions: SMTPServerOptions = {
    disableReverseLookup: true,
    logger: false,
    authOptional: options.login === undefined,
    ...(options.tls === undefined
      ? { disabledCommands: options.login === undefined ? ["STARTTLS", "AUTH"] : ["STARTTLS"], allowInsecureAuth: true }
      : { secure: options.tls.mode === "tls", cert: options.tls.cert, key: options.tls.key }),
    onConnect(_session, callback) {
      if (!state.refusing) return callback();
      const refusal = Object.assign(new Error("too busy for you now, try again later"), { responseCode: 421 });
      callback(refusal);
    },
    onAuth(auth, _session, callback) {
      const login = options.login;
      if (login !== undefined && auth.username === login.user && auth.password === login.password) return callback(null, { user: login.user });
      callback(Object.assign(new Error("authentication credentials invalid"), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        simpleParser(Buffer.concat(chunks))
          .then((parsed) => {
            const rcpt = session.envelope.rcptTo.map((a) => a.address);
            const mailFrom = session.envelope.mailFrom;
            received.push({
              to: rcpt,
              from: mailFrom === false ? "" : mailFrom.address,
              secure: session.secure,
              user: typeof session.user === "string" ? session.user : undefined,
              parsed,
              header: (name) => {
                const value = parsed.headers.get(name.toLowerCase());
                // X-Vgrid-* and Message-ID are text; structured headers (addresses, dates) come as JSON.
                return value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value);
              },
            });
            for (const wake of waiters) wake();
            callback();
          })
          .catch((err: Error) => callback(err));
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on("error", () => {});
  const port = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.server.address() as AddressInfo;
  return {
    port: address.port,
    received,
    get refusing() {
      return state.refusing;
    },
    set refusing(value: boolean) {
      state.refusing = value;
    },
    async waitFor(count, ms = 10_000) {
      if (received.length >= count) return received;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${received.length} mails arrived in ${ms} ms, not ${count}: ${received.map((m) => m.parsed.subject).join("; ")}`));
        }, ms);
        const check = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
      return received;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
