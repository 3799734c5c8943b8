import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { ApiError, invalidParameter } from '../shared/errors.js';
import { mapWithLimit } from '../shared/limit.js';
import type { Clock } from '../shared/ids.js';
import { parseWith } from '../http/validate.js';
import { managedModels, requireRole } from '../webhooks/permissions.js';
import { isWellFormedWebhookId, webhookIdSchema } from '../webhooks/schemas.js';
import { findManagedWebhook } from '../webhooks/webhook-service.js';
import type { WebhookStore } from '../webhooks/webhook-store.js';
import { HOUR_MS, hourOf, noCounts, type DeliveryCounts, type HourlyCounts, type StatusCounts } from './delivery-counts.js';
import { definedOnly } from '../shared/defined.js';

export const MAX_SUMMARY_HOURS = 168;
export const DEFAULT_SUMMARY_HOURS = 24;
/** Rows one summary reads at most, all webhooks and streams together (docs/operations.md, The summary's cost). */
export const SUMMARY_ROW_BUDGET = 30_000;
/** Rows each stream of one webhook may read however many webhooks share the budget: one page. */
const MIN_ROWS_PER_STREAM = 1000;
/** Streams per webhook: FAILED's index, SKIPPED's index, the other records. */
const STREAMS = 3;
/** Webhooks one summary counts at most (three requests each); past it, the answer says how many it left out. */
export const MAX_SUMMARY_WEBHOOKS = 1000;
/** Webhooks counted at once. */
const CONCURRENCY = 8;
/** Webhooks a manager's listing reads, a page at a time. */
const LIST_PAGE = 1000;

export const summaryQuerySchema = z.strictObject({
  hours: z
    .union([z.number(), z.string()], { error: `must be a whole number of hours from 1 to ${MAX_SUMMARY_HOURS}` })
    .transform((value, ctx) => {
      const n = typeof value === 'number' ? value : /^\d{1,4}$/.test(value) ? Number(value) : NaN;
      if (Number.isInteger(n) && n >= 1 && n <= MAX_SUMMARY_HOURS) return n;
      ctx.addIssue({ code: 'custom', message: `must be a whole number of hours from 1 to ${MAX_SUMMARY_HOURS}` });
      return z.NEVER;
    })
    .optional()
    .describe('The hours to cover, ending with the current one (UTC); 24 by default.'),
  webhook_id: webhookIdSchema.optional().describe("One webhook's figures; without it, every webhook the caller may read."),
});

const countsSchema = z.strictObject({
  succeeded: z.int(),
  failed: z.int(),
  skipped: z.int(),
  in_progress: z.int().describe('PENDING and RETRYING.'),
});

/** The answer; the OpenAPI document is generated from it. */
export const deliverySummarySchema = z.strictObject({
  hours: z.array(countsSchema.extend({ start_timestamp: z.int().describe('Start of the UTC hour (event time), epoch milliseconds.') })),
  totals: countsSchema,
  webhook_count: z.int().describe('Webhooks whose records were counted.'),
  exact_since_timestamp: z.int().optional().describe('Present when the row budget ran out: hours before it are counted in part (at least the figure shown).'),
  webhooks_not_counted: z.int().optional().describe(`Present when more than ${MAX_SUMMARY_WEBHOOKS} webhooks had records in the range: those not counted.`),
});
export type ApiDeliverySummary = z.output<typeof deliverySummarySchema>;
type ApiHourSummary = ApiDeliverySummary['hours'][number];

export interface SummaryDeps {
  webhooks: WebhookStore;
  counts: DeliveryCounts;
  clock: Clock;
}

/**
 * `GET deliveries/summary`: deliveries per UTC hour of event time by current status, for one webhook or for
 * every webhook the caller may read (an admin: all, deleted ones' records included; a manager: its models').
 */
export async function summarizeDeliveries(deps: SummaryDeps, principal: Principal, input: unknown): Promise<ApiDeliverySummary> {
  requireRole(principal, ['admin', 'manager'], 'read deliveries');
  const query = parseWith(summaryQuerySchema, input);
  const hours = query.hours ?? DEFAULT_SUMMARY_HOURS;
  const now = deps.clock();
  const firstHour = hourOf(now) - (hours - 1) * HOUR_MS;
  const until = hourOf(now) + HOUR_MS - 1;
  const found = await countedWebhooks(deps, principal, query.webhook_id, firstHour, until);
  const webhookIds = found.slice(0, MAX_SUMMARY_WEBHOOKS);
  const perStream = Math.max(MIN_ROWS_PER_STREAM, Math.floor(SUMMARY_ROW_BUDGET / STREAMS / Math.max(1, webhookIds.length)));
  const counted = await mapWithLimit(webhookIds, CONCURRENCY, (webhookId) =>
    deps.counts.countByHour({ webhookId, sinceTimestamp: firstHour, untilTimestamp: until, maxRows: perStream }),
  );
  const answer = answerOf(counted, firstHour, hours, webhookIds.length);
  return found.length > webhookIds.length ? { ...answer, webhooks_not_counted: found.length - webhookIds.length } : answer;
}

/** The webhooks a summary counts, the caller's access checked. */
async function countedWebhooks(deps: SummaryDeps, principal: Principal, webhookId: string | undefined, since: number, until: number): Promise<string[]> {
  const scope = managedModels(principal);
  if (webhookId !== undefined) {
    if (!isWellFormedWebhookId(webhookId)) throw invalidParameter(`Invalid parameter 'webhook_id': '${webhookId}' is not a webhook id (32 hexadecimal digits)`);
    try {
      await findManagedWebhook(deps.webhooks, principal, webhookId, 'read deliveries');
    } catch (error) {
      // An admin reads a deleted webhook's records while retention keeps them.
      const deletedForAdmin = error instanceof ApiError && error.code === 'RESOURCE_DOES_NOT_EXIST' && scope === undefined;
      if (!deletedForAdmin || !(await deps.counts.webhooksWithDeliveries(since, until)).includes(webhookId)) throw error;
    }
    return [webhookId];
  }
  const withDeliveries = await deps.counts.webhooksWithDeliveries(since, until);
  if (scope === undefined) return withDeliveries;
  const managed = new Set<string>();
  let pageToken: string | undefined;
  do {
    const page = await deps.webhooks.list({ models: scope, limit: LIST_PAGE, ...definedOnly({ pageToken }) });
    for (const webhook of page.webhooks) managed.add(webhook.id);
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return withDeliveries.filter((id) => managed.has(id));
}

const apiCounts = (counts: StatusCounts): Omit<ApiHourSummary, 'start_timestamp'> => ({
  succeeded: counts.SUCCEEDED,
  failed: counts.FAILED,
  skipped: counts.SKIPPED,
  in_progress: counts.PENDING + counts.RETRYING,
});

function answerOf(counted: readonly HourlyCounts[], firstHour: number, hours: number, webhookCount: number): ApiDeliverySummary {
  const total = noCounts();
  const answer: ApiHourSummary[] = [];
  for (let n = 0; n < hours; n += 1) {
    const start = firstHour + n * HOUR_MS;
    const hour = noCounts();
    for (const one of counted) {
      const counts = one.hours.get(start);
      if (!counts) continue;
      for (const status of Object.keys(hour) as (keyof StatusCounts)[]) {
        hour[status] += counts[status];
        total[status] += counts[status];
      }
    }
    answer.push({ start_timestamp: start, ...apiCounts(hour) });
  }
  const cuts = counted.flatMap((one) => (one.exactAfter !== undefined ? [one.exactAfter + 1] : []));
  return { hours: answer, totals: apiCounts(total), webhook_count: webhookCount, ...(cuts.length > 0 ? { exact_since_timestamp: Math.max(...cuts) } : {}) };
}
