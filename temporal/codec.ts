/**
 * Payload encryption: every payload the service hands Temporal (workflow inputs, signals, updates,
 * activity arguments and results, memo, query answers, failure details) is sealed with AES-256-GCM
 * before it leaves the process, so Temporal's history, its UI and `temporal workflow show` hold
 * ciphertext. Search attributes are never encoded (Temporal indexes them): they carry nothing
 * personal (domain/search-attributes.ts).
 *
 * Keys rotate: one key (the current one) seals, every configured key opens, and each payload names
 * the key that sealed it in its metadata. Payloads written before the codec (no encryption
 * metadata) pass through unchanged, so cases opened earlier keep replaying.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
// @temporalio/proto is CommonJS without static named exports: take the value from the default import.
import proto from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key that sealed a payload. */
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER_NAME = 'AES256GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Key ids travel in payload metadata and logs: short, plain words. */
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** The development key, used only where no key is configured outside production: payloads it
 * seals are readable by anyone with this source code. */
export const DEVELOPMENT_KEY_ID = 'development';
const DEVELOPMENT_KEY = Buffer.from('collection-cases-development-payload-key-change-me!').subarray(0, KEY_BYTES);
/** The development key as a `PAYLOAD_KEYS` entry: for tests that hand it to another process. */
export const DEVELOPMENT_KEY_ENTRY = `${DEVELOPMENT_KEY_ID}:${DEVELOPMENT_KEY.toString('base64')}`;

/** The keyring seals with the development key (by default, or configured by its value). */
export function sealsWithDevelopmentKey(keyring: PayloadKeyring): boolean {
  return keyring.keys.get(keyring.currentKeyId)!.equals(DEVELOPMENT_KEY);
}

const PayloadProto = proto.temporal.api.common.v1.Payload;
const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export interface PayloadKeyring {
  /** Seals every new payload. */
  currentKeyId: string;
  /** Every key that may have sealed a stored payload, the current one included. */
  keys: ReadonlyMap<string, Buffer>;
}

/** Where keys come from: `PAYLOAD_KEYS` (`id:base64,id:base64`) with `PAYLOAD_KEY_ID` naming the
 * current one, or `PAYLOAD_KEY_FILE`, a JSON file `{ "current": id, "keys": { id: base64 } }`. */
export interface PayloadKeySettings {
  PAYLOAD_KEYS?: string;
  PAYLOAD_KEY_ID?: string;
  PAYLOAD_KEY_FILE?: string;
  NODE_ENV?: string;
}

function decodeKey(id: string, base64: string, where: string): Buffer {
  if (!KEY_ID_PATTERN.test(id)) throw new Error(`${where}: key id "${id}" must be 1-64 letters, digits, '.', '_' or '-'`);
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`${where}: key "${id}" must be ${KEY_BYTES} bytes in base64 (openssl rand -base64 32), not ${key.length}`);
  }
  return key;
}

/** The keyring the settings describe; the error names the setting at fault and why. */
export function payloadKeyring(settings: PayloadKeySettings): PayloadKeyring {
  const { PAYLOAD_KEYS, PAYLOAD_KEY_ID, PAYLOAD_KEY_FILE } = settings;
  if (PAYLOAD_KEYS !== undefined && PAYLOAD_KEY_FILE !== undefined) {
    throw new Error('env/PAYLOAD_KEYS and env/PAYLOAD_KEY_FILE are alternatives: set one');
  }
  const keys = new Map<string, Buffer>();
  let current: string | undefined = PAYLOAD_KEY_ID;
  if (PAYLOAD_KEY_FILE !== undefined) {
    const where = `env/PAYLOAD_KEY_FILE (${PAYLOAD_KEY_FILE})`;
    let parsed: { current?: unknown; keys?: unknown };
    try {
      parsed = JSON.parse(readFileSync(PAYLOAD_KEY_FILE, 'utf8')) as typeof parsed;
    } catch (err) {
      throw new Error(`${where} must be a readable JSON file: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof parsed.keys !== 'object' || parsed.keys === null) throw new Error(`${where} must have "keys": { id: base64 key }`);
    for (const [id, value] of Object.entries(parsed.keys)) {
      if (typeof value !== 'string') throw new Error(`${where}: key "${id}" must be a base64 string`);
      keys.set(id, decodeKey(id, value, where));
    }
    if (typeof parsed.current === 'string') current ??= parsed.current;
  } else if (PAYLOAD_KEYS !== undefined) {
    for (const entry of PAYLOAD_KEYS.split(',').map((e) => e.trim()).filter(Boolean)) {
      const colon = entry.indexOf(':');
      if (colon <= 0) throw new Error('env/PAYLOAD_KEYS must be a list of id:base64key, comma-separated');
      const id = entry.slice(0, colon);
      if (keys.has(id)) throw new Error(`env/PAYLOAD_KEYS names the key "${id}" twice`);
      keys.set(id, decodeKey(id, entry.slice(colon + 1), 'env/PAYLOAD_KEYS'));
    }
    // One key needs no naming: it is the current one.
    if (current === undefined && keys.size === 1) current = [...keys.keys()][0];
  } else {
    if (settings.NODE_ENV === 'production') {
      throw new Error('env must have required property PAYLOAD_KEYS or PAYLOAD_KEY_FILE in production (the keys that encrypt Temporal payloads)');
    }
    keys.set(DEVELOPMENT_KEY_ID, DEVELOPMENT_KEY);
    current ??= DEVELOPMENT_KEY_ID;
  }
  if (keys.size === 0) throw new Error('env/PAYLOAD_KEYS or PAYLOAD_KEY_FILE must hold at least one key');
  if (current === undefined) throw new Error('env/PAYLOAD_KEY_ID must name the current key among several (or the key file its "current")');
  if (!keys.has(current)) throw new Error(`env/PAYLOAD_KEY_ID names "${current}", which is not among the configured keys (${[...keys.keys()].join(', ')})`);
  return { currentKeyId: current, keys };
}

/** A payload sealed with a key this process does not hold (or tampered with). */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

/** Seals one payload with the keyring's current key: AES-256-GCM over the whole serialized payload
 * (its metadata and data); the key id is authenticated too, so a payload cannot be relabelled to
 * another key. */
export function sealPayload(keyring: PayloadKeyring, payload: Payload): Payload {
  const keyId = keyring.currentKeyId;
  const key = keyring.keys.get(keyId)!;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(keyId));
  const sealed = Buffer.concat([cipher.update(PayloadProto.encode(payload).finish()), cipher.final()]);
  return {
    metadata: {
      [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING),
      [KEY_ID_METADATA]: utf8(keyId),
      [CIPHER_METADATA]: utf8(CIPHER_NAME),
    },
    data: new Uint8Array(Buffer.concat([iv, sealed, cipher.getAuthTag()])),
  };
}

/** Opens a sealed payload with the key it names; a payload written before the codec (no
 * encryption metadata) is returned as it is. */
export function openPayload(keyring: PayloadKeyring, payload: Payload): Payload {
  if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
  const keyId = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
  const key = keyring.keys.get(keyId);
  if (!key) throw new PayloadDecryptionError(`payload sealed with key "${keyId}", which this process does not hold`);
  const data = Buffer.from(payload.data ?? new Uint8Array());
  if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    const opened = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    return PayloadProto.decode(opened) as Payload;
  } catch {
    throw new PayloadDecryptionError(`payload sealed with key "${keyId}" did not authenticate`);
  }
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => sealPayload(this.keyring, payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => openPayload(this.keyring, payload));
  }
}

/** The one data converter of every client, worker and replay of this service. */
export function createDataConverter(keyring: PayloadKeyring): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keyring)] };
}

/** `createDataConverter` from the environment's (validated) settings. */
export function dataConverterFrom(settings: PayloadKeySettings): DataConverter {
  return createDataConverter(payloadKeyring(settings));
}

// ---- the codec server's JSON form ----------------------------------------------------------

/** A payload as the Temporal codec-server protocol carries it: metadata values and data in base64. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export function payloadFromJson(json: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(json.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(json.data ?? '', 'base64')),
  };
}

export function payloadToJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

/** Runs codecs in the data converter's order: encode first to last, decode last to first. */
export async function encodeWith(codecs: readonly PayloadCodec[], payloads: Payload[]): Promise<Payload[]> {
  let out = payloads;
  for (const codec of codecs) out = await codec.encode(out);
  return out;
}

export async function decodeWith(codecs: readonly PayloadCodec[], payloads: Payload[]): Promise<Payload[]> {
  let out = payloads;
  for (const codec of [...codecs].reverse()) out = await codec.decode(out);
  return out;
}
