import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../logger';
import { newLoan } from './support/fixtures';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino(loggerOptions('info'), stream), lines };
}

describe('logs', () => {
  it('redact names, ID numbers and phone numbers wherever loan facts appear', () => {
    const { logger, lines } = capture();
    const loan = newLoan();
    logger.info(loan.borrower, 'a party');
    logger.info({ loan }, 'a loan');
    logger.info({ req: { body: loan } }, 'a request body');
    logger.info({ notification: { recipient: { role: 'borrower', ...loan.borrower } } }, 'a notification');
    logger.info({ req: { headers: { authorization: 'Bearer secret-token' } } }, 'a header');

    const text = lines.join('\n');
    expect(lines).toHaveLength(5);
    for (const party of [loan.borrower, ...loan.guarantors]) {
      expect(text).not.toContain(party.idNumber);
      expect(text).not.toContain(party.phone);
      expect(text).not.toContain(party.name);
    }
    expect(text).not.toContain('secret-token');
    expect(text).toContain('[redacted]');
  });
});
