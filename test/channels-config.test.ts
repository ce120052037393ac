import { describe, expect, it } from 'vitest';
import { channelsFromSettings } from '../activities/channels/configured';
import { loadConfig, notificationSettings } from '../config';
import { createLogger } from '../logger';

const base = { DATABASE_URL: 'postgres://app@db:5432/collection' };
const webhook = { NOTIFY_WEBHOOK_URL: 'https://sms.example/v1/messages', NOTIFY_WEBHOOK_SECRET: 'a-gateway-secret-of-some-length' };
const smtp = { SMTP_URL: 'smtp://mailer:pw@smtp.example:587', SMTP_FROM: 'collections@bank.example', SMTP_TO: 'letters@print.example' };

describe('notification settings', () => {
  it('refuse a production worker that would only log notifications, unless NOTIFY_CHANNELS=log says so', () => {
    expect(() => notificationSettings(loadConfig(base), { requireDelivery: true })).toThrow(/env\/NOTIFY_CHANNELS must be set/);
    const explicit = notificationSettings(loadConfig({ ...base, NOTIFY_CHANNELS: 'log' }), { requireDelivery: true });
    expect(explicit.channels).toEqual({ sms: 'log', letter: 'log', email: 'log', wechat: 'log' });
  });

  it('log every channel by default for npm start', () => {
    const settings = notificationSettings(loadConfig(base), { requireDelivery: false });
    expect(settings).toEqual({
      channels: { sms: 'log', letter: 'log', email: 'log', wechat: 'log' },
      maxAttempts: 8,
      sweepIntervalMs: 30_000,
    });
  });

  it('map channels to the webhook and SMTP adapters with their settings', () => {
    const config = loadConfig({
      ...base,
      ...webhook,
      ...smtp,
      NOTIFY_CHANNELS: 'sms=webhook, letter=smtp,email=smtp',
      NOTIFY_WEBHOOK_TIMEOUT_MS: '5000',
      NOTIFY_MAX_ATTEMPTS: '5',
    });
    const settings = notificationSettings(config, { requireDelivery: true });
    expect(settings).toEqual({
      channels: { sms: 'webhook', letter: 'smtp', email: 'smtp' },
      webhook: { url: webhook.NOTIFY_WEBHOOK_URL, secret: webhook.NOTIFY_WEBHOOK_SECRET, timeoutMs: 5_000 },
      smtp: { url: smtp.SMTP_URL, from: smtp.SMTP_FROM, to: smtp.SMTP_TO, timeoutMs: 15_000 },
      maxAttempts: 5,
      sweepIntervalMs: 30_000,
    });
    const channels = channelsFromSettings(settings, createLogger('silent'));
    expect(Object.keys(channels).sort()).toEqual(['email', 'letter', 'sms']);
    expect(channels.letter).toBe(channels.email); // one SMTP transport for both
    for (const adapter of new Set(Object.values(channels))) void adapter?.close?.();
  });

  it.each([
    [{ NOTIFY_CHANNELS: 'pigeon' }, /NOTIFY_CHANNELS must be one of log, webhook, smtp/],
    [{ NOTIFY_CHANNELS: 'fax=webhook', ...webhook }, /NOTIFY_CHANNELS: "fax=webhook" must be channel=adapter/],
    [{ NOTIFY_CHANNELS: 'sms=carrier-pigeon' }, /NOTIFY_CHANNELS: "sms=carrier-pigeon"/],
    [{ NOTIFY_CHANNELS: 'sms=log,sms=webhook', ...webhook }, /names the channel sms twice/],
    [{ NOTIFY_CHANNELS: 'sms=webhook' }, /NOTIFY_WEBHOOK_URL/],
    [{ NOTIFY_CHANNELS: 'sms=webhook', NOTIFY_WEBHOOK_URL: webhook.NOTIFY_WEBHOOK_URL }, /NOTIFY_WEBHOOK_SECRET/],
    [{ NOTIFY_CHANNELS: 'letter=smtp', SMTP_URL: smtp.SMTP_URL, SMTP_TO: smtp.SMTP_TO }, /SMTP_FROM/],
    [{ NOTIFY_CHANNELS: 'sms=webhook', ...webhook, NOTIFY_WEBHOOK_URL: 'ftp://x' }, /NOTIFY_WEBHOOK_URL/],
    [{ NOTIFY_CHANNELS: 'sms=webhook', ...webhook, NOTIFY_WEBHOOK_SECRET: 'short' }, /NOTIFY_WEBHOOK_SECRET/],
    [{ NOTIFY_WEBHOOK_TIMEOUT_MS: '10' }, /NOTIFY_WEBHOOK_TIMEOUT_MS/],
    [{ SMTP_URL: 'http://mail' }, /SMTP_URL/],
    [{ NOTIFY_MAX_ATTEMPTS: '0' }, /NOTIFY_MAX_ATTEMPTS/],
  ])('name the bad variable in %j at boot', (env, pattern) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(pattern);
  });
});
