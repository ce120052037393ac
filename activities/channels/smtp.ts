import nodemailer from 'nodemailer';
import { ChannelError, type ChannelAdapter, type OutgoingNotification } from '../channels';

export interface SmtpChannelOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. */
  url: string;
  /** The bank's sender address. */
  from: string;
  /** The letter service's mailbox: parties have no e-mail address in the case, so letters go to
   * the service that prints and posts them (or forwards them). */
  to: string;
  /** Bounds connecting, the greeting and each wait on the socket. */
  timeoutMs: number;
}

/**
 * Letters by e-mail through an SMTP relay, one message per recipient. SMTP has no idempotency
 * of its own: the outbox row id goes into the Message-ID and an `X-Idempotency-Key` header, on
 * which the receiving service de-duplicates a message resent after a lost answer. A 5xx reply
 * (other than to authentication) is permanent; connection failures and 4xx replies are retried.
 */
export function smtpChannel(options: SmtpChannelOptions): ChannelAdapter {
  const transport = nodemailer.createTransport({
    url: options.url,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  return {
    async send(notification) {
      try {
        await transport.sendMail({
          from: options.from,
          to: options.to,
          subject: `${notification.template} ${notification.caseId}`,
          text: letterText(notification),
          messageId: `<${messageIdPart(notification.idempotencyKey)}@collection-cases>`,
          headers: { 'X-Idempotency-Key': notification.idempotencyKey },
        });
      } catch (err) {
        throw smtpError(err);
      }
    },
    close() {
      transport.close();
    },
  };
}

function letterText(n: OutgoingNotification): string {
  return [
    `Template: ${n.template}`,
    `Channel: ${n.channel}`,
    `Case: ${n.caseId}`,
    `Recipient: ${n.recipient.name} (${n.recipient.role})`,
    `Reference: ${n.idempotencyKey}`,
    '',
    JSON.stringify(n.payload, null, 2),
    '',
  ].join('\n');
}

/** A Message-ID's left part allows no ':' (the row id has some). */
function messageIdPart(key: string): string {
  return key.replace(/[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]/g, '.');
}

/** The SMTP code and reply code only: the server's text may quote addresses. */
function smtpError(err: unknown): ChannelError {
  const e = err as { code?: unknown; responseCode?: unknown; command?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const status = typeof e?.responseCode === 'number' ? e.responseCode : undefined;
  const command = typeof e?.command === 'string' ? e.command.split(' ')[0] : undefined;
  const permanent = status !== undefined && status >= 500 && status < 600 && code !== 'EAUTH';
  const parts = [code, status, command && `on ${command}`].filter((p) => p !== undefined && p !== '');
  return new ChannelError(`smtp send failed${parts.length ? `: ${parts.join(' ')}` : ''}`, {
    permanent,
    ...(status !== undefined ? { status } : {}),
  });
}
