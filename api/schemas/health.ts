import { Type } from 'typebox';
import { StringEnum } from './common';
import { ProblemSchema } from './problem';

export const LivenessSchema = Type.Object({ status: StringEnum(['ok'] as const) });

const CheckSchema = Type.Object({
  status: StringEnum(['up', 'down'] as const),
  reason: Type.Optional(Type.String()),
});

export const ChecksSchema = Type.Object({ postgres: CheckSchema, temporal: CheckSchema });

export const ReadinessSchema = Type.Object({ status: StringEnum(['ready'] as const), checks: ChecksSchema });

/** 503: a problem naming each dependency that failed, with every check's result. */
export const NotReadySchema = Type.Object({ ...ProblemSchema.properties, checks: ChecksSchema });
