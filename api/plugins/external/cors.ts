import fastifyCors from '@fastify/cors';
import fp from 'fastify-plugin';

/** `CORS_ORIGINS`: exact origins, comma-separated (`https://collections.bank.example`). */
export function corsOrigins(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
}

/**
 * Browsers may call the API only from the configured origins; any other origin gets no CORS
 * headers, so the browser keeps the answer from its page. Bearer tokens, never cookies: no
 * credentials mode.
 */
export default fp(
  async function cors(fastify, options: { origins: string[] }) {
    await fastify.register(fastifyCors, {
      origin: options.origins.length > 0 ? options.origins : false,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key'],
      exposedHeaders: ['location', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  },
  { name: 'cors' },
);
