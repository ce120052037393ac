import { Type, type Static } from 'typebox';

const BASE64_PATTERN = '^[A-Za-z0-9+/]*={0,2}$';
const Base64Schema = Type.String({ pattern: BASE64_PATTERN, maxLength: 4 * 1024 * 1024, description: 'Base64' });

/** One Temporal payload as the codec-server protocol carries it. */
export const CodecPayloadSchema = Type.Object(
  {
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Base64Schema, { description: 'Metadata values in base64 (`encoding`, `encryption-key-id`…)' })),
    data: Type.Optional(Base64Schema),
  },
  { additionalProperties: false },
);

/** The body and the answer of `POST /codec/decode` and `POST /codec/encode`. */
export const CodecPayloadsSchema = Type.Object(
  { payloads: Type.Array(CodecPayloadSchema, { maxItems: 1_000 }) },
  { additionalProperties: false, description: 'Temporal payloads, in the codec-server protocol\'s JSON form' },
);
export type CodecPayloads = Static<typeof CodecPayloadsSchema>;
