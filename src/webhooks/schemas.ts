import { z } from 'zod';
import { EVENT_NAMES, type EventName } from './events.js';
import { filterSchema } from './filter-schema.js';
import { PAYLOAD_FORMATS, WEBHOOK_STATUSES } from './webhook.js';
import { hasLoneSurrogate } from '../shared/ids.js';

export const MAX_MODEL_NAME_CHARS = 256;
export const MAX_DESCRIPTION_CHARS = 1000;
export const MAX_URL_CHARS = 2048;
export const MAX_SECRET_CHARS = 1024;
export const MAX_TOKEN_CHARS = 4096;
export const MAX_LIST_RESULTS = 1000;
export const DEFAULT_LIST_RESULTS = 100;

const codePoints = (value: string): number => {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
};

/** A string that is valid UTF-16 (no lone surrogates), so it encodes to UTF-8 losslessly. */
export const text = () => z.string().refine((value) => !hasLoneSurrogate(value), { error: 'contains an unpaired surrogate' });

export const modelNameSchema = text()
  .refine((value) => value.length > 0, { error: 'must not be empty' })
  .refine((value) => codePoints(value) <= MAX_MODEL_NAME_CHARS, { error: `must be at most ${MAX_MODEL_NAME_CHARS} characters` });

const eventSchema = z.enum(EVENT_NAMES, { error: `unknown event; expected one of ${EVENT_NAMES.join(', ')}` });

export const eventsSchema = z
  .array(eventSchema)
  .min(1, { error: 'must list at least one event' })
  .max(EVENT_NAMES.length, { error: 'has more entries than there are events' })
  .refine((events) => new Set(events).size === events.length, { error: 'must not list an event twice' })
  .transform((events): EventName[] => events);

export const statusSchema = z.enum(WEBHOOK_STATUSES, { error: `must be one of ${WEBHOOK_STATUSES.join(', ')}` });

const descriptionSchema = text().refine((value) => codePoints(value) <= MAX_DESCRIPTION_CHARS, {
  error: `must be at most ${MAX_DESCRIPTION_CHARS} characters`,
});

/** URLs with tabs, line breaks or edge spaces are refused: a URL parser drops them, so the stored URL would not be the one called. */
const urlSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(MAX_URL_CHARS, { error: `must be at most ${MAX_URL_CHARS} characters` })
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\s\u0000-\u001f\u007f-\u009f]*$/, { error: 'must not contain spaces or control characters (CR, LF, tab); percent-encode them' });

/** Header values must be visible ASCII, space or tab: anything else cannot be sent as an HTTP header. */
const headerValueSchema = z
  .string()
  .max(MAX_TOKEN_CHARS, { error: `must be at most ${MAX_TOKEN_CHARS} characters` })
  .regex(/^[\t\x20-\x7e]*$/, { error: 'may hold only visible ASCII characters, spaces and tabs' });

/** `whsec_<base64>` secrets are decoded, as the Standard Webhooks libraries do; any other string is used as UTF-8. */
const secretSchema = text()
  .max(MAX_SECRET_CHARS, { error: `must be at most ${MAX_SECRET_CHARS} characters` })
  .refine((value) => !value.startsWith('whsec_') || /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value), {
    error: "starts with 'whsec_' but the rest is not base64",
  });

/** A string of digits, or a JSON integer (parsed losslessly, so big ones arrive as bigint); kept as a string. */
export const jobIdSchema = z
  .union([z.string(), z.number(), z.bigint()], { error: 'must be a string of digits or an integer' })
  .transform((value, ctx) => {
    const digits = typeof value === 'number' && !Number.isSafeInteger(value) ? '' : String(value);
    if (!/^\d{1,19}$/.test(digits) || BigInt(digits) > 9_223_372_036_854_775_807n) {
      ctx.addIssue({ code: 'custom', message: 'must be a positive integer of at most 19 digits' });
      return z.NEVER;
    }
    return digits.replace(/^0+(?=\d)/, '');
  });

const accessTokenSchema = headerValueSchema.min(1, { error: 'must not be empty' });

export const MAX_AUDIENCE_CHARS = 256;
export const MAX_REQUESTS_PER_SECOND = 1000;

/** The client-credentials grant: given whole (the secret too) whenever it is set or changed. */
const oauth2Schema = z.strictObject(
  {
    token_url: urlSchema,
    client_id: headerValueSchema.min(1, { error: 'must not be empty' }).max(256, { error: 'must be at most 256 characters' }),
    client_secret: text().min(1, { error: 'must not be empty' }).max(MAX_SECRET_CHARS, { error: `must be at most ${MAX_SECRET_CHARS} characters` }),
    scope: text().min(1, { error: 'must not be empty' }).max(1024, { error: 'must be at most 1024 characters' }).optional(),
  },
  { error: 'must be an object with token_url, client_id, client_secret and optionally scope' },
);

const httpUrlSpecSchema = z.strictObject({
  url: urlSchema,
  secret: secretSchema.optional(),
  authorization: headerValueSchema.optional(),
  enable_ssl_verification: z.boolean().optional(),
  format: z.enum(PAYLOAD_FORMATS, { error: `must be one of ${PAYLOAD_FORMATS.join(', ')}` }).optional(),
  azure_ad_audience: headerValueSchema.max(MAX_AUDIENCE_CHARS, { error: `must be at most ${MAX_AUDIENCE_CHARS} characters` }).optional(),
  oauth2: oauth2Schema.optional(),
  max_requests_per_second: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be from 1 to 1000, or 0 for no limit' })
    .max(MAX_REQUESTS_PER_SECOND, { error: `must be from 1 to ${MAX_REQUESTS_PER_SECOND}, or 0 for no limit` })
    .optional(),
});

const jobSpecSchema = z.strictObject({
  job_id: jobIdSchema,
  access_token: accessTokenSchema,
  workspace_url: urlSchema.optional(),
});

export const createWebhookSchema = z.strictObject({
  model_name: modelNameSchema.optional(),
  events: eventsSchema,
  description: descriptionSchema.optional(),
  status: statusSchema.optional(),
  http_url_spec: httpUrlSpecSchema.optional(),
  job_spec: jobSpecSchema.optional(),
  filter: filterSchema.optional(),
});
export type CreateWebhookInput = z.output<typeof createWebhookSchema>;

/** Ids are 32 lowercase hex characters; anything else cannot name a webhook. */
export const webhookIdSchema = z.string().min(1, { error: 'must not be empty' }).max(128, { error: 'is too long' });
export const isWellFormedWebhookId = (id: string): boolean => /^[0-9a-f]{32}$/.test(id);

/** In an update every spec field may be left out: it keeps its stored value. */
export const updateWebhookSchema = z.strictObject({
  id: webhookIdSchema,
  description: descriptionSchema.optional(),
  events: eventsSchema.optional(),
  status: statusSchema.optional(),
  http_url_spec: httpUrlSpecSchema.partial().optional(),
  job_spec: jobSpecSchema.partial().optional(),
  filter: filterSchema.optional(),
});
export type UpdateWebhookInput = z.output<typeof updateWebhookSchema>;

export const idOnlySchema = z.strictObject({ id: webhookIdSchema });

export const testWebhookSchema = z.strictObject({
  id: webhookIdSchema,
  event: eventSchema.optional(),
});

const maxResultsSchema = z
  .union([z.number(), z.string()], { error: 'must be an integer' })
  .transform((value, ctx) => {
    const n = typeof value === 'number' ? value : /^\d{1,7}$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIST_RESULTS) {
      ctx.addIssue({ code: 'custom', message: `must be an integer from 1 to ${MAX_LIST_RESULTS}` });
      return z.NEVER;
    }
    return n;
  });

/** `events` may repeat or be a comma list; both arrive here as a list of strings. */
const eventFilterSchema = z
  .union([z.array(z.string()), z.string()], { error: 'must be an event name or a list of them' })
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((entry) => entry.split(',')).map((entry) => entry.trim()))
  .pipe(z.array(eventSchema).max(EVENT_NAMES.length * 4, { error: 'lists too many events' }))
  .transform((events): EventName[] => [...new Set(events)]);

export const listWebhooksSchema = z.strictObject({
  model_name: modelNameSchema.optional(),
  events: eventFilterSchema.optional(),
  max_results: maxResultsSchema.optional(),
  page_token: z.string().max(2048, { error: 'is not a valid page token' }).optional(),
});
export type ListWebhooksInput = z.output<typeof listWebhooksSchema>;

export { maxResultsSchema };
