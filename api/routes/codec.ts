/**
 * The Temporal codec server (https://docs.temporal.io/production-deployment/data-encryption): the
 * Temporal UI (its codec endpoint setting) and `temporal … --codec-endpoint` send the payloads
 * they show here and get them back decrypted with the service's keys (temporal/codec.ts), for
 * supervisors' and admins' tokens only; everyone else sees ciphertext.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeWith, encodeWith, payloadFromJson, payloadToJson, type JsonPayload } from '../../temporal/codec';
import { callerOf } from '../plugins/app/authorization';
import { BEARER_SECURITY, described } from '../schemas/common';
import { CodecPayloadsSchema } from '../schemas/codec';
import { ERROR_RESPONSES } from '../schemas/problem';

/** A history page's payloads, each up to Temporal's 2 MB, in base64. */
const BODY_LIMIT = 16 * 1024 * 1024;
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';

const codec: FastifyPluginAsyncTypebox = async (fastify) => {
  const origins = new Set(fastify.config.TEMPORAL_UI_ORIGIN.split(',').map((o) => o.trim()));
  const codecs = fastify.temporal.options.loadedDataConverter.payloadCodecs;

  // The UI calls from the browser, with the user's token: its origin may read the answers,
  // refusals included.
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (origin && origins.has(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
    }
  });

  for (const [path, what] of [['/decode', 'Decrypt'], ['/encode', 'Encrypt']] as const) {
    fastify.options(path, { schema: { hide: true } }, async (request, reply) => {
      const allowed = request.headers.origin !== undefined && origins.has(request.headers.origin);
      if (allowed) {
        reply.header('access-control-allow-methods', 'POST, OPTIONS');
        reply.header('access-control-allow-headers', ALLOWED_HEADERS);
        reply.header('access-control-max-age', '600');
      }
      return reply.code(204).send();
    });

    fastify.post(
      path,
      {
        onRequest: fastify.authenticate,
        preValidation: fastify.requireRole('history'),
        bodyLimit: BODY_LIMIT,
        schema: {
          summary: `${what} Temporal payloads (codec server)`,
          description:
            `${what}s payloads with the service's payload keys, in the Temporal codec-server protocol: the Temporal UI's codec endpoint and the CLI's \`--codec-endpoint\` point at \`/codec\`. ` +
            'Supervisors and admins only (the UI must pass the user\'s access token; the CLI sends `--codec-auth "Bearer …"`). ' +
            'Decoding leaves payloads written before encryption, or sealed with a key this service no longer holds, as they are.',
          tags: ['temporal'],
          security: BEARER_SECURITY,
          body: CodecPayloadsSchema,
          response: { 200: described(CodecPayloadsSchema, `The payloads, ${what === 'Decrypt' ? 'decrypted' : 'encrypted'}`), ...ERROR_RESPONSES },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const payloads = request.body.payloads.map((p) => payloadFromJson(p as JsonPayload));
        if (path === '/encode') return { payloads: (await encodeWith(codecs, payloads)).map(payloadToJson) };
        // One undecodable payload (an unknown key) leaves the others readable.
        const decoded = await Promise.all(payloads.map(async (p) => (await decodeWith(codecs, [p]).catch(() => [p]))[0]!));
        request.log.info({ caller: { sub: caller.sub, role: caller.role }, payloads: decoded.length }, 'payloads decoded for the Temporal UI or CLI');
        return { payloads: decoded.map(payloadToJson) };
      },
    );
  }
};

export default codec;
