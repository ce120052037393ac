import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { PROBLEM_CONTENT_TYPE } from '../../errors';
import { OPTIONAL_BODY_KEYWORD } from '../../schemas/common';

type Json = Record<string, unknown>;

/**
 * Fastify's swagger marks every request body required; a body schema built with
 * `OptionalBody()` (schemas/common.ts) is one the route also takes absent, and the document says
 * so (`requestBody.required: false`). The marker keyword is removed from the document.
 */
function optionalBodies(document: Json): Json {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const body = operation?.requestBody as { required?: boolean; content?: Record<string, { schema?: Json }> } | undefined;
      for (const media of Object.values(body?.content ?? {})) {
        if (media.schema?.[OPTIONAL_BODY_KEYWORD] === true) {
          body!.required = false;
          delete media.schema[OPTIONAL_BODY_KEYWORD];
        }
      }
    }
  }
  return document;
}

/** Error answers are problem details: document them under their own media type. */
function problemMediaTypes(document: Json): Json {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const responses = (operation?.responses ?? {}) as Record<string, Json>;
      for (const [status, response] of Object.entries(responses)) {
        const content = response.content as Record<string, unknown> | undefined;
        if (Number(status) >= 400 && content?.['application/json']) {
          response.content = { [PROBLEM_CONTENT_TYPE]: content['application/json'] };
        }
      }
    }
  }
  return document;
}

/** OpenAPI 3.1 at `/docs/json` (and `/docs/yaml`), Swagger UI at `/docs`. */
export default fp(
  async function swagger(fastify) {
    await fastify.register(fastifySwagger, {
      hideUntagged: true,
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Collection cases API',
          description:
            'Opens and follows collection cases for overdue loans: one Temporal workflow per loan escalates through hands 1–6; officers report their progress as messages; the ledger (PostgreSQL) answers the reads. Errors are RFC 9457 problem details.',
          version: '0.1.0',
        },
        tags: [
          { name: 'cases', description: 'Intake and the ledger of collection cases' },
          { name: 'messages', description: 'Officers\' and supervisors\' messages to a case' },
          { name: 'plan', description: 'The plan per household (一户一策): measures, approvals, guarantor claims, litigation, write-off' },
          { name: 'audit', description: 'The business trail and the workflow history of a case' },
          { name: 'reports', description: 'Portfolio and roll-rate reports rebuilt from the business trail as of a date, and the ledger as CSV' },
          { name: 'health', description: 'Liveness and readiness' },
          { name: 'metrics', description: 'Prometheus metrics' },
          { name: 'officers', description: 'Officers per branch, assignment and worklists' },
        ],
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'HS256 token with claims `sub`, `role` (officer, supervisor, admin, system) and `branch` (officers and supervisors)',
            },
          },
        },
      },
      transformObject: (documentObject) =>
        optionalBodies(problemMediaTypes(('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject) as Json)),
    });
    await fastify.register(fastifySwaggerUi, { routePrefix: '/docs' });
  },
  { name: 'swagger' },
);
