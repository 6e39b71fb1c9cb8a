// The mail sender: sends the outbox's due mails through [mail]'s SMTP server, in a loop of its own with
// its own timer, so that a slow or absent SMTP server never holds up the policy pass. It runs on every
// replica: each takes the mails it sends by claiming them in a transaction (their next attempt pushed
// beyond the time the sends can take), so that no two replicas ever send one mail at once, and a
// replica that dies mid-send leaves its claims to lapse and the mails to the next. Without [mail]
// nothing is sent: the mails wait, queued, in the outbox.

import nodemailer, { type Transporter } from "nodemailer";
import type { ServerConfig } from "../config.js";
import type { ServerContext } from "../context.js";
import { claimDueMail, recordFailure, recordSent, releaseClaims, type ClaimedMail } from "../store/outbox.js";
import { certificates, readPem } from "../tls.js";
import { afterFailure } from "./retry.js";
import { describeFailure, fromDomain, messageIdFor, SEND_DEADLINE_MS, transportOptions, type SmtpFailure } from "./smtp.js";
import { ConfigError } from "../../core/errors.js";

/** How often the loop looks for due mail: a mail decided now leaves within this. */
export const POLL_MS = 5_000;
/** Mails claimed at once. */
const BATCH = 10;
/** A claim outlasts the sends of its whole batch, each bounded by SEND_DEADLINE_MS. */
const CLAIM_MS = BATCH * SEND_DEADLINE_MS + 60_000;

export interface SendReport {
  sent: number;
  /** Failed this time, tried again later. */
  retrying: number;
  /** Given up. */
  failed: number;
}

export interface MailSender {
  /** Starts the loop. */
  start(): void;
  /** Sends what is due now (tests, and the loop): resolves once each due mail is sent or has its next attempt. */
  sendDue(): Promise<SendReport>;
  /** Stops the loop after the mail in flight; mails claimed but not tried are given back. */
  stop(): Promise<void>;
}

/** What [mail] needs beyond its settings, read and checked at start, before the store is opened. */
export interface MailSetup {
  /** [mail] ca's PEM text. */
  ca: string | undefined;
  /** The domain of [mail] from, for the Message-IDs. */
  domain: string;
}

/** [mail]'s CA file read and its from address checked, or undefined without [mail]; a problem names the key. */
export async function checkMailSetup(config: ServerConfig): Promise<MailSetup | undefined> {
  const { mail } = config;
  if (mail === undefined) return undefined;
  const domain = fromDomain(mail.from);
  if (domain === undefined) {
    throw new ConfigError(config.source, "mail.from", `'${mail.from}' is not a mail address: give one like "vgrid <vgrid@example.org>"`);
  }
  if (mail.ca === undefined) return { ca: undefined, domain };
  const ca = await readPem(config.source, "mail.ca", mail.ca);
  certificates(config.source, "mail.ca", mail.ca, ca);
  return { ca, domain };
}

/** The sender for ctx's [mail], or, without it, one that sends nothing and says so in the log, once. */
export function createMailSender(ctx: ServerContext, setup: MailSetup | undefined): MailSender {
  const { mail } = ctx.config;
  if (mail === undefined || setup === undefined) {
    return {
      start: () =>
        ctx.log.warn(
          "no [mail] in server.toml: no mail is sent, expiry warnings included; mails wait, queued, in the outbox (GET /api/v1/outbox) and go out once [mail] is set",
        ),
      sendDue: async () => ({ sent: 0, retrying: 0, failed: 0 }),
      stop: async () => {},
    };
  }
  return new SmtpSender(ctx, mail, setup);
}

class SmtpSender implements MailSender {
  private readonly transport: Transporter;
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<SendReport> | null = null;
  private stopping = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly mail: NonNullable<ServerConfig["mail"]>,
    private readonly setup: MailSetup,
  ) {
    this.transport = nodemailer.createTransport(transportOptions(mail, setup.ca));
  }

  start(): void {
    this.ctx.log.info({ host: this.mail.host, port: this.mail.port, security: this.mail.security }, "mail goes out through the SMTP server of [mail]");
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round?.catch(() => undefined);
    this.transport.close();
  }

  async sendDue(): Promise<SendReport> {
    // One round at a time: a second caller waits for the round in flight, then looks again.
    while (this.round) await this.round.catch(() => undefined);
    const round = this.sendAll().finally(() => (this.round = null));
    this.round = round;
    return round;
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.sendDue()
        .catch((err: unknown) => this.ctx.log.warn({ err: String(err) }, "cannot read the outbox (the store?); mail is tried again shortly"))
        .finally(() => this.schedule(POLL_MS));
    }, ms);
  }

  /** Batch after batch until nothing more is due (or the sender stops). */
  private async sendAll(): Promise<SendReport> {
    const report: SendReport = { sent: 0, retrying: 0, failed: 0 };
    for (;;) {
      if (this.stopping) return report;
      const now = this.ctx.now();
      const batch = await this.ctx.writes.run((tx) => claimDueMail(tx, now, new Date(now.getTime() + CLAIM_MS), BATCH));
      await this.sendBatch(batch, report);
      if (batch.length < BATCH) return report;
    }
  }

  private async sendBatch(batch: ClaimedMail[], report: SendReport): Promise<void> {
    for (const [i, mail] of batch.entries()) {
      if (this.stopping) {
        await this.ctx.writes.run((tx) => releaseClaims(tx, batch.slice(i), this.ctx.now()));
        return;
      }
      const failure = await this.send(mail);
      if (failure === undefined) {
        report.sent += 1;
        continue;
      }
      await this.recordFailure(mail, failure, report);
      if (failure.blocksAll) {
        // The server is out of reach (or refuses our sender): the rest of the batch would fail alike,
        // each after its own timeout. They count a try with the same error, and wait as this one does.
        for (const rest of batch.slice(i + 1)) await this.recordFailure(rest, failure, report);
        this.ctx.log.warn(
          { mail: mail.id, kind: mail.kind, vm: mail.vmId, waiting: batch.length - i },
          `mail cannot be sent: ${failure.words}; it is tried again with backoff`,
        );
        return;
      }
    }
  }

  /** One mail through SMTP; its failure, or undefined once the server took it and that is recorded. */
  private async send(mail: ClaimedMail): Promise<SmtpFailure | undefined> {
    try {
      await this.transport.sendMail({
        from: this.mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: messageIdFor(mail.key, this.setup.domain),
        headers: { "X-Vgrid-Kind": mail.kind, ...(mail.vmId === null ? {} : { "X-Vgrid-Vm": mail.vmId }) },
        signal: AbortSignal.timeout(SEND_DEADLINE_MS),
      });
    } catch (err) {
      return describeFailure(err, this.mail);
    }
    // The server has the mail. Should this commit not happen (a crash, the store gone), the claim
    // lapses and the mail goes again, with the same Message-ID: the one resend API.md allows.
    const recorded = await this.ctx.writes.run((tx) => recordSent(tx, mail, this.ctx.now()));
    if (!recorded) this.warnTakenOver(mail);
    this.ctx.log.info({ mail: mail.id, kind: mail.kind, vm: mail.vmId, to: mail.to }, `mail sent: ${mail.subject}`);
    return undefined;
  }

  private async recordFailure(mail: ClaimedMail, failure: SmtpFailure, report: SendReport): Promise<void> {
    const now = this.ctx.now();
    const decision = afterFailure(new Date(mail.createdAt), mail.attempts + 1, now, failure.words, failure.permanent);
    const error = "giveUp" in decision ? decision.giveUp : failure.words;
    const retryAt = "retryAt" in decision ? decision.retryAt : null;
    const recorded = await this.ctx.writes.run((tx) => recordFailure(tx, mail, error, retryAt));
    if (!recorded) return this.warnTakenOver(mail);
    if (retryAt === null) {
      report.failed += 1;
      this.ctx.log.error({ mail: mail.id, kind: mail.kind, vm: mail.vmId, to: mail.to }, `mail given up: ${error}`);
    } else {
      report.retrying += 1;
    }
  }

  private warnTakenOver(mail: ClaimedMail): void {
    this.ctx.log.warn(
      { mail: mail.id, kind: mail.kind, vm: mail.vmId },
      "a mail's claim lapsed while this replica was sending it (a stalled process?); another sender has taken it over, and its outcome stands",
    );
  }
}
