import fastifyHelmet from '@fastify/helmet';
import fp from 'fastify-plugin';

/**
 * Security headers on every answer (nosniff, frame denial, HSTS, a strict CSP…). The swagger UI
 * at /docs loads only its own scripts and styles, so helmet's default policy suits it, but for
 * `upgrade-insecure-requests`: on a plain-http development server it would send the UI's own
 * scripts to https, where nothing answers (TLS ends before this process in production).
 */
export default fp(
  async function helmet(fastify) {
    await fastify.register(fastifyHelmet, {
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    });
  },
  { name: 'helmet' },
);
