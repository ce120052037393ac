import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError, loggingChannel, type OutgoingNotification } from '../activities';
import { smtpChannel } from '../activities/channels/smtp';
import { webhookChannel, type WebhookBody } from '../activities/channels/webhook';
import { loggerOptions } from '../logger';

const SECRET = 'gateway-secret-0123456789';

function outgoing(overrides: Partial<OutgoingNotification> = {}): OutgoingNotification {
  return {
    id: 'f3a1c2d4-0000-4000-8000-000000000001:0:guarantor:1',
    idempotencyKey: 'f3a1c2d4-0000-4000-8000-000000000001:0:guarantor:1',
    notificationId: 'f3a1c2d4-0000-4000-8000-000000000001:0',
    caseId: 'case-LN0001',
    channel: 'sms',
    template: 'payment_reminder',
    recipient: { role: 'guarantor', name: 'Li Na', phone: '+8613900139000' },
    payload: { hand: 1, overdue: 1_200_000, currency: 'CNY' },
    ...overrides,
  };
}

describe('the webhook adapter', () => {
  const received: { path: string; headers: http.IncomingHttpHeaders; body: WebhookBody }[] = [];
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (chunk) => (data += chunk));
      req.on('end', () => {
        const path = req.url ?? '/';
        received.push({ path, headers: req.headers, body: JSON.parse(data) as WebhookBody });
        const status = { '/ok': 202, '/bad': 422, '/throttled': 429, '/down': 503, '/moved': 302 }[path];
        if (path === '/slow') {
          setTimeout(() => res.writeHead(200).end('{}'), 2_000).unref();
          return;
        }
        // A gateway may echo the recipient: it must not reach the error message.
        res.writeHead(status ?? 404, { 'content-type': 'application/json' }).end(JSON.stringify({ to: '+8613900139000' }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const adapter = (path: string, timeoutMs = 2_000) => webhookChannel({ url: `${base}${path}`, secret: SECRET, timeoutMs });

  it('posts one message with the bearer secret and the idempotency key, and takes a 2xx as sent', async () => {
    const n = outgoing();
    await adapter('/ok').send(n);
    const request = received.find((r) => r.path === '/ok')!;
    expect(request.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(request.headers['idempotency-key']).toBe(n.idempotencyKey);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.body).toEqual({
      idempotencyKey: n.idempotencyKey,
      notificationId: n.notificationId,
      caseId: n.caseId,
      channel: 'sms',
      template: 'payment_reminder',
      recipient: n.recipient,
      payload: n.payload,
    });
  });

  it('gives up after its timeout with a retryable error', async () => {
    const started = Date.now();
    const error = await adapter('/slow', 200).send(outgoing()).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ permanent: false, message: 'webhook gave no answer within 200 ms' });
  });

  it.each([
    ['/bad', 422, true],
    ['/throttled', 429, false],
    ['/down', 503, false],
    ['/moved', 302, false],
  ])('answers %s with an error carrying status %i (permanent: %s) and no personal data', async (path, status, permanent) => {
    const error = await adapter(path).send(outgoing()).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ status, permanent, message: expect.stringMatching(new RegExp(`^webhook answered ${status}`)) });
    expect((error as Error).message).not.toContain('+86');
  });

  it('reports an unreachable gateway as retryable', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await webhookChannel({ url: `http://127.0.0.1:${port}/`, secret: SECRET, timeoutMs: 2_000 })
      .send(outgoing())
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ permanent: false, message: 'webhook request failed: ECONNREFUSED' });
  });
});

describe('the SMTP adapter', () => {
  const mails: { from: string; to: string[]; text: string }[] = [];
  let server: SMTPServer;
  let port: number;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('nobody@')) {
          callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
          return;
        }
        callback();
      },
      onData(stream, session, callback) {
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            text,
          });
          callback();
        });
      },
    });
    const listening = server.listen(0, '127.0.0.1');
    await once(listening, 'listening');
    port = (listening.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('sends one letter to the letter service, keyed by the row for de-duplication', async () => {
    const adapter = smtpChannel({
      url: `smtp://127.0.0.1:${port}`,
      from: 'collections@bank.example',
      to: 'letters@print.example',
      timeoutMs: 5_000,
    });
    const n = outgoing({ channel: 'letter', template: 'lawyers_letter' });
    try {
      await adapter.send(n);
    } finally {
      await adapter.close?.();
    }
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail).toMatchObject({ from: 'collections@bank.example', to: ['letters@print.example'] });
    const text = mail!.text.replace(/\r?\n[ \t]+/g, ' '); // unfold long headers
    expect(text).toContain(`X-Idempotency-Key: ${n.idempotencyKey}`);
    expect(text).toContain('Message-ID: <f3a1c2d4-0000-4000-8000-000000000001.0.guarantor.1@collection-cases>');
    expect(text).toContain('Subject: lawyers_letter case-LN0001');
    expect(text).toContain('Recipient: Li Na (guarantor)');
  });

  it('takes a 5xx refusal of the recipient as permanent', async () => {
    const adapter = smtpChannel({ url: `smtp://127.0.0.1:${port}`, from: 'collections@bank.example', to: 'nobody@print.example', timeoutMs: 5_000 });
    const error = await adapter.send(outgoing({ channel: 'letter' })).catch((err: unknown) => err);
    await adapter.close?.();
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ permanent: true, status: 550 });
    expect((error as Error).message).not.toContain('nobody@');
  });
});

describe('the logging adapter', () => {
  it('logs what it would send without the recipient’s name or phone', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    await loggingChannel(pino(loggerOptions('info'), stream)).send(outgoing());
    const text = lines.join('\n');
    expect(text).toContain('payment_reminder');
    expect(text).toContain('guarantor');
    expect(text).not.toContain('Li Na');
    expect(text).not.toContain('+8613900139000');
  });
});
