/**
 * The payload codec (temporal/codec.ts): AES-256-GCM round trip, payloads from before the codec,
 * tampering, key configuration, and rotation on a real case: histories written under key A replay
 * and decode once key B encrypts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { caseStateQuery, recordPaymentUpdate, type CaseOpening } from '../../domain';
import { createLogger } from '../../logger';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  createDataConverter,
  payloadKeyring,
  type PayloadKeyring,
} from '../../temporal/codec';
import { createCaseWorker } from '../../worker';
import { OFFICER, newLoan, open, testPolicy, useDatabaseFor } from '../support/fixtures';
import { startCaseHarness, workflowBundle, type CaseHarness } from '../support/harness';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ringA: PayloadKeyring = { currentKeyId: 'key-a', keys: new Map([['key-a', keyA]]) };
const ringAB: PayloadKeyring = { currentKeyId: 'key-b', keys: new Map([['key-a', keyA], ['key-b', keyB]]) };
const ringB: PayloadKeyring = { currentKeyId: 'key-b', keys: new Map([['key-b', keyB]]) };

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const SECRET = { name: 'Zhang Wei', idNumber: '110101199003071234', phone: '+8613800138000' };

describe('EncryptionCodec', () => {
  it('round-trips a payload and names its key; the stored bytes hold none of the plaintext', async () => {
    const codec = new EncryptionCodec(ringA);
    const plain = defaultPayloadConverter.toPayload(SECRET);
    const [sealed] = await codec.encode([plain]);
    expect(text(sealed!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed!.metadata![KEY_ID_METADATA])).toBe('key-a');
    const stored = text(sealed!.data) + Object.values(sealed!.metadata!).map(text).join('');
    for (const value of Object.values(SECRET)) expect(stored).not.toContain(value);
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(SECRET);
    // A fresh IV each time: the same value never seals to the same bytes.
    const [again] = await codec.encode([plain]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(sealed!.data!))).toBe(false);
  });

  it('leaves a payload written before the codec as it is', async () => {
    const plain = defaultPayloadConverter.toPayload({ loanId: 'LN1' });
    const [decoded] = await new EncryptionCodec(ringA).decode([plain]);
    expect(decoded).toBe(plain);
  });

  it('refuses a tampered payload and one relabelled to another key', async () => {
    const codec = new EncryptionCodec(ringAB);
    const [sealed] = await new EncryptionCodec(ringA).encode([defaultPayloadConverter.toPayload(SECRET)]);
    const flipped: Payload = { ...sealed!, data: Uint8Array.from(sealed!.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(codec.decode([flipped])).rejects.toBeInstanceOf(PayloadDecryptionError);
    const relabelled: Payload = { ...sealed!, metadata: { ...sealed!.metadata!, [KEY_ID_METADATA]: new TextEncoder().encode('key-b') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/did not authenticate/);
  });

  it('rotation: the current key encrypts, every configured key decrypts, a dropped key no longer does', async () => {
    const [underA] = await new EncryptionCodec(ringA).encode([defaultPayloadConverter.toPayload(SECRET)]);
    const rotated = new EncryptionCodec(ringAB);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([underA!]))[0]!)).toEqual(SECRET);
    const [underB] = await rotated.encode([defaultPayloadConverter.toPayload(SECRET)]);
    expect(text(underB!.metadata![KEY_ID_METADATA])).toBe('key-b');
    await expect(new EncryptionCodec(ringB).decode([underA!])).rejects.toThrow(/key "key-a", which this process does not hold/);
  });
});

describe('payloadKeyring', () => {
  const b64 = (key: Buffer) => key.toString('base64');

  it('reads keys from PAYLOAD_KEYS with PAYLOAD_KEY_ID, or from a key file', () => {
    const ring = payloadKeyring({ PAYLOAD_KEYS: `2026-05:${b64(keyA)}, 2026-11:${b64(keyB)}`, PAYLOAD_KEY_ID: '2026-11' });
    expect(ring.currentKeyId).toBe('2026-11');
    expect([...ring.keys.keys()]).toEqual(['2026-05', '2026-11']);
    expect(payloadKeyring({ PAYLOAD_KEYS: `only:${b64(keyA)}` }).currentKeyId).toBe('only');

    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'payload-keys.json');
    writeFileSync(file, JSON.stringify({ current: 'b', keys: { a: b64(keyA), b: b64(keyB) } }));
    const fromFile = payloadKeyring({ PAYLOAD_KEY_FILE: file });
    expect(fromFile.currentKeyId).toBe('b');
    expect(fromFile.keys.get('a')!.equals(keyA)).toBe(true);
  });

  it('refuses bad settings, naming the setting and why', () => {
    expect(() => payloadKeyring({ PAYLOAD_KEYS: `a:${randomBytes(16).toString('base64')}` })).toThrow(/PAYLOAD_KEYS.*32 bytes/);
    expect(() => payloadKeyring({ PAYLOAD_KEYS: `a:${b64(keyA)},b:${b64(keyB)}` })).toThrow(/PAYLOAD_KEY_ID must name the current key/);
    expect(() => payloadKeyring({ PAYLOAD_KEYS: `a:${b64(keyA)}`, PAYLOAD_KEY_ID: 'z' })).toThrow(/PAYLOAD_KEY_ID names "z"/);
    expect(() => payloadKeyring({ PAYLOAD_KEYS: 'no-colon' })).toThrow(/id:base64key/);
    expect(() => payloadKeyring({ PAYLOAD_KEY_FILE: '/nonexistent/keys.json' })).toThrow(/PAYLOAD_KEY_FILE/);
    expect(() => payloadKeyring({ NODE_ENV: 'production' })).toThrow(/PAYLOAD_KEYS or PAYLOAD_KEY_FILE in production/);
    expect(payloadKeyring({}).currentKeyId).toBe('development');
  });
});

describe('key rotation on a real case', () => {
  let h: CaseHarness;
  let connection: Connection;
  let native: NativeConnection;
  beforeAll(async () => {
    h = await startCaseHarness({ worker: false });
    connection = await Connection.connect({ address: inject('temporalAddress') });
    native = await NativeConnection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    await native?.close();
    await connection?.close();
    await h?.close();
  });

  async function runWith(ring: PayloadKeyring, taskQueue: string, fn: (client: Client) => Promise<void>): Promise<void> {
    const dataConverter = createDataConverter(ring);
    const client = new Client({ connection, dataConverter });
    useDatabaseFor(client, h.db);
    const workers = await createCaseWorker({
      connection: native,
      namespace: 'default',
      taskQueue,
      db: h.db,
      logger: createLogger('silent'),
      workflowBundle: await workflowBundle(),
      sweepIntervalMs: 0,
      shutdownGraceTime: 0,
      dataConverter,
    });
    await workers.runUntil(() => fn(client));
  }

  it('a case written under key A replays, decodes and goes on after key B becomes current', async () => {
    const taskQueue = `rotation-${randomUUID()}`;
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const loan = newLoan({ overdue: 100_000, outstanding: 900_000 });
    let caseId = '';
    await runWith(ringA, taskQueue, async (client) => {
      ({ case: { caseId } } = await open(client, taskQueue, loan, policy));
      await client.workflow.getHandle(caseId).executeUpdate(recordPaymentUpdate, {
        args: [{ requestId: randomUUID(), by: OFFICER, amount: 30_000, reference: 'ROT-1', paidAt: new Date().toISOString() }],
      });
    });
    const underA = await new Client({ connection }).workflow.getHandle(caseId).fetchHistory();
    const input = underA.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(text(input.metadata![KEY_ID_METADATA])).toBe('key-a');

    // Key B now encrypts; A stays configured to decrypt. The worker replays what A wrote.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter: createDataConverter(ringAB) }, underA, caseId);
    const [opening] = await new EncryptionCodec(ringAB).decode([input as Payload]);
    expect((defaultPayloadConverter.fromPayload(opening!) as { opening: CaseOpening }).opening.loan.loanId).toBe(loan.loanId);

    await runWith(ringAB, taskQueue, async (client) => {
      const handle = client.workflow.getHandle(caseId);
      expect((await handle.query(caseStateQuery)).recovered).toBe(30_000);
      const paid = await handle.executeUpdate(recordPaymentUpdate, {
        args: [{ requestId: randomUUID(), by: OFFICER, amount: 70_000, reference: 'ROT-2', paidAt: new Date().toISOString() }],
      });
      expect(paid.case).toMatchObject({ stage: 'recovered', recovered: 100_000 });
    });
    const mixed = await new Client({ connection }).workflow.getHandle(caseId).fetchHistory();
    const keyIds = new Set(
      mixed.events!.flatMap((e) => e.workflowExecutionUpdateAdmittedEventAttributes?.request?.input?.args?.payloads ?? e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads ?? []).map((p) => text(p.metadata?.[KEY_ID_METADATA])),
    );
    expect(keyIds).toEqual(new Set(['key-a', 'key-b']));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter: createDataConverter(ringAB) }, mixed, caseId);
  });
});
