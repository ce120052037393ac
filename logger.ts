import pino, { type LoggerOptions } from 'pino';

/** Personal data never reaches the logs: borrowers' and guarantors' ID numbers and phones,
 * wherever they sit in a logged object or request. */
export const REDACT_PATHS = [
  'idNumber',
  'phone',
  '*.idNumber',
  '*.phone',
  '*.*.idNumber',
  '*.*.phone',
  '*.borrower.idNumber',
  '*.borrower.phone',
  '*.guarantors[*].idNumber',
  '*.guarantors[*].phone',
  '*.*.guarantors[*].idNumber',
  '*.*.guarantors[*].phone',
  'req.headers.authorization',
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}

export function createLogger(level = process.env.LOG_LEVEL ?? 'info') {
  return pino(loggerOptions(level));
}

export type Logger = pino.Logger;
