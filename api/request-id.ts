import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** The request id a message is recorded under: the client's Idempotency-Key, or a new one. */
export function requestIdOf(request: FastifyRequest): string {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' && key.length > 0 ? key : randomUUID();
}
