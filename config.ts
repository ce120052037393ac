import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { envSchema } from 'env-schema';
import { Type, type Static } from 'typebox';
import { TASK_QUEUE } from './domain';

/** The development secret signs tokens only where no JWT_SECRET is set outside production. */
export const DEVELOPMENT_JWT_SECRET = 'collection-cases-development-secret-change-me';

const ConfigSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), {
    default: 'info',
  }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  DATABASE_POOL_MAX: Type.Integer({ default: 10, minimum: 1 }),
  TEMPORAL_ADDRESS: Type.String({ default: '127.0.0.1:7233', pattern: '^[^\\s:]+:\\d+$' }),
  TEMPORAL_NAMESPACE: Type.String({ default: 'default', minLength: 1 }),
  TEMPORAL_TASK_QUEUE: Type.String({ default: TASK_QUEUE, minLength: 1 }),
  TEMPORAL_TLS: Type.Boolean({ default: false }),
  TEMPORAL_TLS_CERT_PATH: Type.Optional(Type.String({ minLength: 1 })),
  TEMPORAL_TLS_KEY_PATH: Type.Optional(Type.String({ minLength: 1 })),
  TEMPORAL_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
});

export type Config = Static<typeof ConfigSchema> & { JWT_SECRET: string };

/** Validates the environment at boot; the error names the bad variable and why. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const config = envSchema<Static<typeof ConfigSchema>>({ schema: ConfigSchema, data: env, env: false, dotenv: false });
  if ((config.TEMPORAL_TLS_CERT_PATH === undefined) !== (config.TEMPORAL_TLS_KEY_PATH === undefined)) {
    throw new Error('env/TEMPORAL_TLS_CERT_PATH and env/TEMPORAL_TLS_KEY_PATH must be set together');
  }
  if (config.JWT_SECRET === undefined && config.NODE_ENV === 'production') {
    throw new Error('env must have required property JWT_SECRET in production');
  }
  return { ...config, JWT_SECRET: config.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET };
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
