import { z } from 'zod';
import { FILTER_OPS, type FilterCondition } from './webhook.js';

export const FILTER_FIELDS = ['to_stage', 'from_stage', 'alias', 'version', 'user_id'] as const;
export const MAX_FILTER_CONDITIONS = 10;
export const MAX_FILTER_VALUES = 20;
export const MAX_FILTER_VALUE_CHARS = 256;
/** `tags.<key>`: a tag key as events carry them (1 to 250 characters). */
export const TAG_FIELD = /^tags\.(.{1,250})$/s;

const fieldSchema = z
  .string({ error: 'must be a string' })
  .refine((field) => (FILTER_FIELDS as readonly string[]).includes(field) || TAG_FIELD.test(field), {
    error: `must be one of ${FILTER_FIELDS.join(', ')} or tags.<key>`,
  });

const valueSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(MAX_FILTER_VALUE_CHARS, { error: `must be at most ${MAX_FILTER_VALUE_CHARS} characters` });

const conditionSchema = z
  .strictObject({
    field: fieldSchema,
    op: z.enum(FILTER_OPS, { error: `must be one of ${FILTER_OPS.join(', ')}` }),
    values: z
      .array(valueSchema, { error: 'must be a list of strings' })
      .min(1, { error: 'must list at least one value' })
      .max(MAX_FILTER_VALUES, { error: `must list at most ${MAX_FILTER_VALUES} values` })
      .optional(),
  })
  .superRefine((condition, ctx) => {
    if (condition.op === 'exists' && condition.values !== undefined) ctx.addIssue({ code: 'custom', path: ['values'], message: "must be left out for op 'exists'" });
    if (condition.op !== 'exists' && condition.values === undefined) {
      ctx.addIssue({ code: 'invalid_type', expected: 'array', input: undefined, path: ['values'], message: `required for op '${condition.op}'` });
    }
  })
  .transform((condition): FilterCondition => condition);

/** The wire form: a list of conditions, all of which must hold; `[]` is no filter. */
export const filterSchema = z
  .array(conditionSchema, { error: 'must be a list of {field, op, values} conditions' })
  .max(MAX_FILTER_CONDITIONS, { error: `must hold at most ${MAX_FILTER_CONDITIONS} conditions` });
