import type { NotificationChannel } from '../domain';
import type { Logger } from '../logger';

/** A notification ready to leave the bank, addressed to one person. */
export interface OutgoingNotification {
  id: string;
  caseId: string;
  channel: NotificationChannel;
  template: string;
  recipient: { role: 'borrower' | 'guarantor'; name: string; phone: string };
  payload: Record<string, unknown>;
}

/** Sends through one channel (an SMS gateway, a letter print service…). Throwing leaves the
 * notification pending for the next attempt. */
export interface ChannelAdapter {
  send(notification: OutgoingNotification): Promise<void>;
}

export type Channels = Partial<Record<NotificationChannel, ChannelAdapter>>;

/** The default adapter writes what it would send to the log (the phone is redacted there). */
export function loggingChannel(logger: Logger): ChannelAdapter {
  return {
    async send(notification) {
      logger.info({ notification }, 'notification sent (logging channel)');
    },
  };
}
