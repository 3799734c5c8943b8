import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema of what a caller may send (`input`: before transforms, so `"5"` and `5` both show where both
 * parse) or what the service answers (`output`). A `bigint` (a job id too long for a double) is an integer on the wire.
 */
export function schemaOf(schema: z.ZodType, options: { io: 'input' | 'output'; target: 'openapi-3.0' | 'draft-2020-12' }): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io: options.io,
    target: options.target,
    unrepresentable: ({ zodSchema }) => (zodSchema._zod.def.type === 'bigint' ? { type: 'integer' } : 'throw'),
  }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** OpenAPI 3.0 schema objects for the document. */
export const requestSchema = (schema: z.ZodType): JsonSchema => schemaOf(schema, { io: 'input', target: 'openapi-3.0' });
export const responseSchema = (schema: z.ZodType): JsonSchema => schemaOf(schema, { io: 'output', target: 'openapi-3.0' });
