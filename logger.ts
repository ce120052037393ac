import pino, { type LoggerOptions } from 'pino';

/** Personal data never reaches the logs: borrowers' and guarantors' ID numbers and phones,
 * wherever they sit in a logged object or request. */
const PERSONAL_KEYS = ['idNumber', 'phone'];
// pino's redaction matches fixed depths: cover the shapes loan facts take in logs, from a bare
// party to a request body's guarantors.
const PREFIXES = ['', '*.', '*.*.', '*.*.*.', '*.guarantors[*].', '*.*.guarantors[*].', '*.*.*.guarantors[*].'];

export const REDACT_PATHS = [
  ...PREFIXES.flatMap((prefix) => PERSONAL_KEYS.map((key) => `${prefix}${key}`)),
  'guarantors[*].idNumber',
  'guarantors[*].phone',
  'req.headers.authorization',
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}

export function createLogger(level = process.env.LOG_LEVEL ?? 'info') {
  return pino(loggerOptions(level));
}

export type Logger = pino.Logger;
