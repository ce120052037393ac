import type { NotificationSettings } from '../../config';
import type { Logger } from '../../logger';
import { loggingChannel, type ChannelAdapter, type Channels } from '../channels';
import { smtpChannel } from './smtp';
import { webhookChannel } from './webhook';

/** The adapters the configuration names, one instance of each shared by its channels. */
export function channelsFromSettings(settings: NotificationSettings, logger: Logger): Channels {
  const instances = new Map<string, ChannelAdapter>();
  const instance = (kind: 'log' | 'webhook' | 'smtp'): ChannelAdapter => {
    let adapter = instances.get(kind);
    if (!adapter) {
      if (kind === 'webhook') {
        if (!settings.webhook) throw new Error('the webhook adapter has no settings (NOTIFY_WEBHOOK_URL, NOTIFY_WEBHOOK_SECRET)');
        adapter = webhookChannel(settings.webhook);
      } else if (kind === 'smtp') {
        if (!settings.smtp) throw new Error('the smtp adapter has no settings (SMTP_URL, SMTP_FROM, SMTP_TO)');
        adapter = smtpChannel(settings.smtp);
      } else {
        adapter = loggingChannel(logger);
      }
      instances.set(kind, adapter);
    }
    return adapter;
  };
  const channels: Channels = {};
  for (const [channel, kind] of Object.entries(settings.channels) as [keyof Channels, 'log' | 'webhook' | 'smtp'][]) {
    channels[channel] = instance(kind);
  }
  return channels;
}
