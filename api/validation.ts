import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Two validators: bodies are JSON and taken as typed (no coercion, so `"amount": "100"` or
 * `"overdue": null` is refused, not turned into a number); query strings, params and headers
 * are text and coerced. Neither drops unknown properties silently: a schema that forbids them
 * answers 400 naming the property. All errors are reported, so a client can fix them at once.
 */
function createAjv(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, removeAdditional: false, strict: false, ...options });
  addFormats(ajv);
  return ajv;
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodies = createAjv({ coerceTypes: false });
  const text = createAjv({ coerceTypes: 'array' });
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodies : text).compile(schema as object);
}
