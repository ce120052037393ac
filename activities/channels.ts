import type { NotificationChannel } from '../domain';
import type { Logger } from '../logger';

/** A notification ready to leave the bank, addressed to one person (one outbox row). */
export interface OutgoingNotification {
  /** The outbox row: `<notification id>:borrower` or `<notification id>:guarantor:<n>`. */
  id: string;
  /** The same for every attempt of this row: gateways de-duplicate on it. */
  idempotencyKey: string;
  /** The case workflow's notification (shared by the rows of its recipients). */
  notificationId: string;
  caseId: string;
  channel: NotificationChannel;
  template: string;
  recipient: { role: 'borrower' | 'guarantor'; name: string; phone: string };
  payload: Record<string, unknown>;
}

export interface SendOptions {
  /** Aborted when the delivery is cancelled (worker shutdown, activity cancellation). */
  signal?: AbortSignal;
}

/** Sends through one channel (an SMS gateway, a letter print service…). Throwing leaves the
 * row pending for a later attempt, unless the error is a permanent {@link ChannelError}. Error
 * messages end up in the outbox and the logs: they never carry personal data. */
export interface ChannelAdapter {
  send(notification: OutgoingNotification, options?: SendOptions): Promise<void>;
  /** Releases connections (an SMTP pool); called when the worker stops. */
  close?(): Promise<void> | void;
}

export type Channels = Partial<Record<NotificationChannel, ChannelAdapter>>;

/** A gateway's refusal. `permanent` ones (a 4xx other than 408/429, an SMTP 5xx) are not
 * retried: the row is marked failed at once. */
export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  readonly permanent: boolean;
  readonly status: number | undefined;

  constructor(message: string, options: { permanent?: boolean; status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.permanent = options.permanent ?? false;
    this.status = options.status;
  }
}

export function isPermanentFailure(err: unknown): boolean {
  return err instanceof ChannelError && err.permanent;
}

/** The adapter for development: writes that it would send, without the recipient's personal
 * data (names, phones), which never reach the logs. */
export function loggingChannel(logger: Logger): ChannelAdapter {
  return {
    async send(notification) {
      const { id, caseId, channel, template, recipient } = notification;
      logger.info({ notification: { id, caseId, channel, template, recipient: { role: recipient.role } } }, 'notification sent (logging channel)');
    },
  };
}
