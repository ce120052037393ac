import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CASE_SEARCH_ATTRIBUTES } from '../../domain';
import { ensureSearchAttributes } from '../../temporal/search-attributes';
import { eventually } from '../support/fixtures';

const { IndexedValueType } = temporal.api.enums.v1;

let connection: Connection;
beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
});
afterAll(async () => {
  await connection?.close();
});

describe('ensureSearchAttributes', () => {
  it('registers the case attributes on a namespace that lacks them, once', async () => {
    const namespace = `ns-${randomUUID().slice(0, 8)}`;
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) },
    });
    await eventually(async () => ((await connection.workflowService.describeNamespace({ namespace })) ? true : undefined));

    const names = CASE_SEARCH_ATTRIBUTES.map((k) => k.name).sort();
    expect((await ensureSearchAttributes(connection, namespace)).sort()).toEqual(names);
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    expect(Object.keys(customAttributes)).toEqual(expect.arrayContaining(names));
    // Age filters compare dates: OverdueSince is a datetime, not a keyword.
    expect(customAttributes.OverdueSince).toBe(IndexedValueType.INDEXED_VALUE_TYPE_DATETIME);
    expect(customAttributes.CollectionHand).toBe(IndexedValueType.INDEXED_VALUE_TYPE_INT);
    expect(await ensureSearchAttributes(connection, namespace)).toEqual([]);
  });
});
