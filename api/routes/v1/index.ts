import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import cases from './cases';
import exportCases from './cases/export';
import messages from './cases/messages';
import approvals from './approvals';
import measures from './cases/measures';
import litigation from './cases/litigation';
import writeOff from './cases/write-off';
import households from './households';
import incidents from './incidents';
import officers from './officers';
import assignments from './assignments';
import worklist from './worklist';
import reports from './reports';
import audit from './audit';
import intake from './intake';
import watches from './watches';
import reads from './reads';
import policies from './policies';

/** Every `/v1` route needs a bearer token: the folder-level hook authenticates, the routes authorize. */
const v1: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRequest', fastify.authenticate);
  await fastify.register(exportCases, { prefix: '/cases' });
  await fastify.register(cases, { prefix: '/cases' });
  await fastify.register(messages, { prefix: '/cases' });
  await fastify.register(measures, { prefix: '/cases' });
  await fastify.register(litigation, { prefix: '/cases' });
  await fastify.register(writeOff, { prefix: '/cases' });
  await fastify.register(approvals, { prefix: '/approvals' });
  await fastify.register(households, { prefix: '/households' });
  await fastify.register(incidents, { prefix: '/incidents' });
  await fastify.register(reports, { prefix: '/reports' });
  await fastify.register(audit);
  await fastify.register(reads);
  await fastify.register(policies);
  await fastify.register(officers, { prefix: '/officers' });
  await fastify.register(assignments, { prefix: '/assignments' });
  await fastify.register(worklist, { prefix: '/worklist' });
  await fastify.register(intake, { prefix: '/intake' });
  await fastify.register(watches, { prefix: '/watches' });
};

export default v1;
