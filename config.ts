import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { envSchema } from 'env-schema';
import { Type, type Static } from 'typebox';
import { NOTIFICATION_CHANNELS, TASK_QUEUE, type NotificationChannel } from './domain';
import { payloadKeyring, sealsWithDevelopmentKey } from './temporal/codec';

/** The development secret signs tokens only where no JWT_SECRET is set outside production. */
export const DEVELOPMENT_JWT_SECRET = 'collection-cases-development-secret-change-me';
/** The development key of household ids (api/household.ts), only where no HOUSEHOLD_KEY is set
 * outside production: household ids made with it match no production household. */
export const DEVELOPMENT_HOUSEHOLD_KEY = 'collection-cases-development-household-key-change-me';

/** `WORKER_METRICS_ADDRESS`: an IP address and a port, `0.0.0.0:9464` or `[::]:9464` (the SDK
 * binds a socket address as given: no host names). */
export const WORKER_METRICS_ADDRESS_PATTERN = '^(\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9A-Fa-f:.]+\\]):\\d{1,5}$';
/** Where `npm start` serves the worker's SDK metrics unless WORKER_METRICS_ADDRESS says otherwise. */
export const DEFAULT_START_WORKER_METRICS_ADDRESS = '127.0.0.1:9464';

const ConfigSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), {
    default: 'info',
  }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  DATABASE_POOL_MAX: Type.Integer({ default: 10, minimum: 1 }),
  /** Connecting to PostgreSQL, and waiting for a free pooled connection. */
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ default: 5_000, minimum: 100, maximum: 300_000 }),
  /** PostgreSQL's `statement_timeout` for every statement; 0 turns it off. */
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ default: 15_000, minimum: 0, maximum: 3_600_000 }),
  TEMPORAL_ADDRESS: Type.String({ default: '127.0.0.1:7233', pattern: '^[^\\s:]+:\\d+$' }),
  TEMPORAL_NAMESPACE: Type.String({ default: 'default', minLength: 1 }),
  TEMPORAL_TASK_QUEUE: Type.String({ default: TASK_QUEUE, minLength: 1 }),
  TEMPORAL_TLS: Type.Boolean({ default: false }),
  TEMPORAL_TLS_CERT_PATH: Type.Optional(Type.String({ minLength: 1 })),
  TEMPORAL_TLS_KEY_PATH: Type.Optional(Type.String({ minLength: 1 })),
  TEMPORAL_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  /** Keys the hash that makes a borrower's household id from the ID number (never stored). */
  HOUSEHOLD_KEY: Type.Optional(Type.String({ minLength: 32 })),
  /** AES-256 keys that encrypt Temporal payloads (temporal/codec.ts): `id:base64,id:base64`, or a
   * JSON key file; `PAYLOAD_KEY_ID` names the one that encrypts, all of them decrypt. */
  PAYLOAD_KEYS: Type.Optional(Type.String({ minLength: 1 })),
  PAYLOAD_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  PAYLOAD_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /** How often the retention job (a Temporal Schedule the worker ensures at boot) erases the
   * personal data of cases closed longer than their policy keeps it. */
  RETENTION_EVERY_MINUTES: Type.Integer({ default: 60, minimum: 1, maximum: 10_080 }),
  /** The Temporal UI's origins (comma-separated), allowed to call the codec endpoint from the
   * browser (CORS). The default is the dev server's UI (`npm start`). */
  TEMPORAL_UI_ORIGIN: Type.String({
    default: 'http://127.0.0.1:8233,http://localhost:8233',
    pattern: '^https?://[^/\\s,]+(,https?://[^/\\s,]+)*$',
  }),
  /** The web console (api/plugins/app/console.ts): the Temporal UI a case links to, and each
   * branch's time zone for dates (`BR01=Asia/Shanghai,BR02=Asia/Hong_Kong`; others Asia/Shanghai). */
  TEMPORAL_UI_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  BRANCH_TIME_ZONES: Type.Optional(Type.String({ minLength: 1 })),
  // Bearer tokens from the bank's identity provider (api/auth/verification.ts; README "Identity provider").
  /** The provider's JWKS: RS256/ES256 tokens checked against its keys (JWT_SECRET then unused). */
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  /** The oldest token (by `iat`) accepted, whatever its `exp` says. */
  JWT_MAX_AGE_SECONDS: Type.Integer({ default: 43_200, minimum: 60, maximum: 604_800 }),
  /** Claim names; a dotted name reaches into an object (`realm_access.roles`). */
  JWT_ROLE_CLAIM: Type.String({ default: 'role', minLength: 1 }),
  JWT_BRANCH_CLAIM: Type.String({ default: 'branch', minLength: 1 }),
  /** The provider's role values as this service's roles: `CC_OFFICER=officer,CC_SUPERVISOR=supervisor`. */
  JWT_ROLE_MAP: Type.Optional(Type.String({ minLength: 3 })),
  // Abuse limits of the API (api/plugins/external/*.ts).
  RATE_LIMIT_MAX: Type.Integer({ default: 300, minimum: 1 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 60_000, minimum: 1_000, maximum: 3_600_000 }),
  /** Browser origins allowed to call the API (comma-separated, exact); unset, none. */
  CORS_ORIGINS: Type.Optional(Type.String({ minLength: 1 })),
  BODY_LIMIT_BYTES: Type.Integer({ default: 262_144, minimum: 1_024, maximum: 16_777_216 }),
  // Notifications: which adapter sends each channel, and the adapters' settings.
  NOTIFY_CHANNELS: Type.Optional(Type.String({ minLength: 1 })),
  NOTIFY_WEBHOOK_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  NOTIFY_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  NOTIFY_WEBHOOK_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, maximum: 120_000 }),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  SMTP_FROM: Type.Optional(Type.String({ minLength: 3 })),
  SMTP_TO: Type.Optional(Type.String({ minLength: 3 })),
  SMTP_TIMEOUT_MS: Type.Integer({ default: 15_000, minimum: 100, maximum: 120_000 }),
  NOTIFY_MAX_ATTEMPTS: Type.Integer({ default: 8, minimum: 1, maximum: 100 }),
  NOTIFY_SWEEP_INTERVAL_MS: Type.Integer({ default: 30_000, minimum: 1_000, maximum: 3_600_000 }),
  // The team channel (清收微信群): results posted, signed, to these URLs (comma-separated).
  TEAM_CHANNEL_URLS: Type.Optional(Type.String({ pattern: '^https?://[^\\s,]+(,https?://[^\\s,]+)*$' })),
  /** Signs each post (HMAC-SHA256 of the timestamp and body); required with TEAM_CHANNEL_URLS. */
  TEAM_CHANNEL_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  TEAM_CHANNEL_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, maximum: 120_000 }),
  TEAM_CHANNEL_MAX_ATTEMPTS: Type.Integer({ default: 8, minimum: 1, maximum: 100 }),
  // The risk watch: large customers (大客户, outstanding at least their currency's threshold, in
  // its minor units: `CNY:1000000000,USD:150000000`) get visits every WATCH_VISIT_EVERY_DAYS days
  // unless the watch names its own rhythm. The defaults are about CNY 10 million each.
  WATCH_LARGE_LOAN_MIN_OUTSTANDING: Type.String({
    default: 'CNY:1000000000,USD:150000000,EUR:130000000,HKD:1100000000',
    pattern: '^[A-Z]{3}:[0-9]{1,15}(,[A-Z]{3}:[0-9]{1,15})*$',
  }),
  WATCH_VISIT_EVERY_DAYS: Type.Integer({ default: 30, minimum: 1, maximum: 365 }),
  // Metrics: the API's `/metrics` (Prometheus text), and the worker's own SDK metrics endpoint.
  METRICS_ENABLED: Type.Boolean({ default: true }),
  /** ip:port the worker's Temporal SDK serves Prometheus metrics on (`/metrics`); unset, none. */
  WORKER_METRICS_ADDRESS: Type.Optional(Type.String({ pattern: WORKER_METRICS_ADDRESS_PATTERN })),
  /** OpenTelemetry traces over OTLP/HTTP to `<endpoint>/v1/traces` (tracing.ts); unset, none. */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  // The daily intake of the overdue list (api/intake, workflows/intake).
  /** Rows taken in at once, by the endpoint and by the daily schedule. */
  INTAKE_CONCURRENCY: Type.Integer({ default: 8, minimum: 1, maximum: 256 }),
  /** Where the daily schedule reads the list: every `*.csv` in it; a file taken in moves to `processed/` beside it. */
  INTAKE_DIRECTORY: Type.String({ default: './.data/intake', minLength: 1 }),
  /** When the schedule runs (cron: minute hour day month weekday), in INTAKE_TIMEZONE. */
  INTAKE_CRON: Type.String({ default: '30 6 * * *', minLength: 9 }),
  INTAKE_TIMEZONE: Type.String({ default: 'UTC', minLength: 1 }),
  /** The worker creates the daily schedule at boot unless this is false. */
  INTAKE_SCHEDULE_ENABLED: Type.Boolean({ default: true }),
});

export type Config = Static<typeof ConfigSchema> & { JWT_SECRET: string; HOUSEHOLD_KEY: string };

/** Validates the environment at boot; the error names the bad variable and why. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const config = envSchema<Static<typeof ConfigSchema>>({ schema: ConfigSchema, data: env, env: false, dotenv: false });
  if ((config.TEMPORAL_TLS_CERT_PATH === undefined) !== (config.TEMPORAL_TLS_KEY_PATH === undefined)) {
    throw new Error('env/TEMPORAL_TLS_CERT_PATH and env/TEMPORAL_TLS_KEY_PATH must be set together');
  }
  if (config.JWT_SECRET === undefined && config.NODE_ENV === 'production') {
    throw new Error('env must have required property JWT_SECRET in production');
  }
  if (config.HOUSEHOLD_KEY === undefined && config.NODE_ENV === 'production') {
    throw new Error('env must have required property HOUSEHOLD_KEY in production');
  }
  notificationAdapters(config); // a bad NOTIFY_* setting stops every process at boot
  if (config.TEAM_CHANNEL_URLS !== undefined && config.TEAM_CHANNEL_SECRET === undefined) {
    throw new Error('env must have required property TEAM_CHANNEL_SECRET with TEAM_CHANNEL_URLS: every post is signed');
  }
  payloadKeyring(config); // so does a bad payload key
  watchLargeLoanThresholds(config); // and a currency given two thresholds
  return {
    ...config,
    JWT_SECRET: config.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
    HOUSEHOLD_KEY: config.HOUSEHOLD_KEY ?? DEVELOPMENT_HOUSEHOLD_KEY,
  };
}

/** The development fallbacks this configuration runs on (none where every secret is set). */
export function developmentSecretsIn(config: Config): string[] {
  return [
    ...(config.JWT_JWKS_URL === undefined && config.JWT_SECRET === DEVELOPMENT_JWT_SECRET ? ['JWT_SECRET (or JWT_JWKS_URL)'] : []),
    ...(config.HOUSEHOLD_KEY === DEVELOPMENT_HOUSEHOLD_KEY ? ['HOUSEHOLD_KEY'] : []),
    ...(sealsWithDevelopmentKey(payloadKeyring(config)) ? ['PAYLOAD_KEYS (or PAYLOAD_KEY_FILE)'] : []),
  ];
}

/**
 * `npm run server` and `npm run worker` run deployments: a development secret there would let
 * anyone who read this repository sign tokens, whatever NODE_ENV says. Only `npm start` and the
 * tests run on them.
 */
export function refuseDevelopmentSecrets(config: Config, entry: 'server' | 'worker'): void {
  const missing = developmentSecretsIn(config);
  if (missing.length > 0) {
    throw new Error(
      `The ${entry} refuses to start on the development secrets: set ${missing.join(' and ')} ` +
        '(at least 32 random characters each, e.g. openssl rand -hex 32); only npm start uses the development ones',
    );
  }
}

/** Connection options for a self-hosted server, mTLS, or Temporal Cloud's API keys. */
export interface TemporalConnectionOptions {
  address: string;
  tls: TLSConfig | boolean;
  apiKey?: string;
}

export function temporalConnectionOptions(config: Config): TemporalConnectionOptions {
  const mtls = config.TEMPORAL_TLS_CERT_PATH && config.TEMPORAL_TLS_KEY_PATH;
  const tls: TLSConfig | boolean = mtls
    ? {
        clientCertPair: {
          crt: readFileSync(config.TEMPORAL_TLS_CERT_PATH!),
          key: readFileSync(config.TEMPORAL_TLS_KEY_PATH!),
        },
      }
    : config.TEMPORAL_TLS || config.TEMPORAL_API_KEY !== undefined;
  return {
    address: config.TEMPORAL_ADDRESS,
    tls,
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
  };
}

/** The adapters a channel can be sent through. */
export const NOTIFY_ADAPTERS = ['log', 'webhook', 'smtp'] as const;
export type NotifyAdapter = (typeof NOTIFY_ADAPTERS)[number];

export interface NotificationSettings {
  /** The adapter of each channel; a channel left out has none and its rows fail (with the
   * reason) instead of pretending to be sent. */
  channels: Partial<Record<NotificationChannel, NotifyAdapter>>;
  webhook?: { url: string; secret: string; timeoutMs: number };
  smtp?: { url: string; from: string; to: string; timeoutMs: number };
  maxAttempts: number;
  sweepIntervalMs: number;
}

/**
 * What delivers notifications. `NOTIFY_CHANNELS` is one adapter for every channel (`log`,
 * `webhook`, `smtp`) or a list such as `sms=webhook,letter=smtp,email=smtp`. Unset, every channel
 * only logs: fine for `npm start`, refused where notifications must really leave the bank
 * (`requireDelivery`, the production worker) unless `NOTIFY_CHANNELS=log` says so explicitly.
 */
export function notificationSettings(config: Config, { requireDelivery }: { requireDelivery: boolean }): NotificationSettings {
  if (config.NOTIFY_CHANNELS === undefined && requireDelivery) {
    throw new Error(
      'env/NOTIFY_CHANNELS must be set for the worker: map channels to adapters (e.g. sms=webhook,letter=smtp,email=smtp), ' +
        'or set NOTIFY_CHANNELS=log to only log notifications',
    );
  }
  const channels = notificationAdapters(config);
  const uses = (adapter: NotifyAdapter) => Object.values(channels).includes(adapter);
  return {
    channels,
    ...(uses('webhook')
      ? { webhook: { url: config.NOTIFY_WEBHOOK_URL!, secret: config.NOTIFY_WEBHOOK_SECRET!, timeoutMs: config.NOTIFY_WEBHOOK_TIMEOUT_MS } }
      : {}),
    ...(uses('smtp')
      ? { smtp: { url: config.SMTP_URL!, from: config.SMTP_FROM!, to: config.SMTP_TO!, timeoutMs: config.SMTP_TIMEOUT_MS } }
      : {}),
    maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
    sweepIntervalMs: config.NOTIFY_SWEEP_INTERVAL_MS,
  };
}

/** Parses NOTIFY_CHANNELS and checks that each adapter it names has its settings. */
function notificationAdapters(config: Static<typeof ConfigSchema>): Partial<Record<NotificationChannel, NotifyAdapter>> {
  const value = config.NOTIFY_CHANNELS?.trim() ?? 'log';
  const isAdapter = (a: string): a is NotifyAdapter => (NOTIFY_ADAPTERS as readonly string[]).includes(a);
  const isChannel = (c: string): c is NotificationChannel => (NOTIFICATION_CHANNELS as readonly string[]).includes(c);
  const channels: Partial<Record<NotificationChannel, NotifyAdapter>> = {};
  if (!value.includes('=')) {
    if (!isAdapter(value)) {
      throw new Error(`env/NOTIFY_CHANNELS must be one of ${NOTIFY_ADAPTERS.join(', ')} or a list like sms=webhook,letter=smtp, not "${value}"`);
    }
    for (const channel of NOTIFICATION_CHANNELS) channels[channel] = value;
  } else {
    for (const entry of value.split(',')) {
      const [channel = '', adapter = '', ...rest] = entry.split('=').map((part) => part.trim());
      if (rest.length > 0 || !isChannel(channel) || !isAdapter(adapter)) {
        throw new Error(
          `env/NOTIFY_CHANNELS: "${entry.trim()}" must be channel=adapter, a channel of ${NOTIFICATION_CHANNELS.join(', ')} ` +
            `and an adapter of ${NOTIFY_ADAPTERS.join(', ')}`,
        );
      }
      if (channels[channel] !== undefined) throw new Error(`env/NOTIFY_CHANNELS names the channel ${channel} twice`);
      channels[channel] = adapter;
    }
  }
  const used = new Set(Object.values(channels));
  if (used.has('webhook')) {
    for (const name of ['NOTIFY_WEBHOOK_URL', 'NOTIFY_WEBHOOK_SECRET'] as const) {
      if (config[name] === undefined) throw new Error(`env must have required property ${name} for NOTIFY_CHANNELS's webhook adapter`);
    }
  }
  if (used.has('smtp')) {
    for (const name of ['SMTP_URL', 'SMTP_FROM', 'SMTP_TO'] as const) {
      if (config[name] === undefined) throw new Error(`env must have required property ${name} for NOTIFY_CHANNELS's smtp adapter`);
    }
  }
  return channels;
}

/** The large-customer threshold of each currency, in its minor units. A currency named twice
 * stops the process at boot: which of the two the bank meant cannot be guessed. */
export function watchLargeLoanThresholds(config: Pick<Config, 'WATCH_LARGE_LOAN_MIN_OUTSTANDING'>): Record<string, number> {
  const thresholds: Record<string, number> = {};
  for (const entry of config.WATCH_LARGE_LOAN_MIN_OUTSTANDING.split(',')) {
    const [currency, amount] = entry.split(':') as [string, string];
    if (currency in thresholds) throw new Error(`env/WATCH_LARGE_LOAN_MIN_OUTSTANDING names ${currency} twice`);
    thresholds[currency] = Number(amount);
  }
  return thresholds;
}

/** Where the team channel posts, and how; undefined when TEAM_CHANNEL_URLS is unset (no posts). */
export function teamChannelSettings(config: Config): { urls: string[]; secret: string; timeoutMs: number; maxAttempts: number } | undefined {
  if (config.TEAM_CHANNEL_URLS === undefined || config.TEAM_CHANNEL_SECRET === undefined) return undefined;
  return {
    urls: [...new Set(config.TEAM_CHANNEL_URLS.split(','))],
    secret: config.TEAM_CHANNEL_SECRET,
    timeoutMs: config.TEAM_CHANNEL_TIMEOUT_MS,
    maxAttempts: config.TEAM_CHANNEL_MAX_ATTEMPTS,
  };
}
