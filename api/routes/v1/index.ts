import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import cases from './cases';
import messages from './cases/messages';
import approvals from './approvals';
import measures from './cases/measures';
import litigation from './cases/litigation';
import writeOff from './cases/write-off';
import households from './households';
import incidents from './incidents';

/** Every `/v1` route needs a bearer token: the folder-level hook authenticates, the routes authorize. */
const v1: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRequest', fastify.authenticate);
  await fastify.register(cases, { prefix: '/cases' });
  await fastify.register(messages, { prefix: '/cases' });
  await fastify.register(measures, { prefix: '/cases' });
  await fastify.register(litigation, { prefix: '/cases' });
  await fastify.register(writeOff, { prefix: '/cases' });
  await fastify.register(approvals, { prefix: '/approvals' });
  await fastify.register(households, { prefix: '/households' });
  await fastify.register(incidents, { prefix: '/incidents' });
};

export default v1;
