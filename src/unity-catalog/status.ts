import { z } from 'zod';
import type { UnityCatalogSource } from './settings.js';
import type { SnapshotStore } from './snapshot-store.js';

/** The source's condition: a count for anyone, the detail for admins (health and `GET /api/sources/unity-catalog`). */
export const unityCatalogStatusSchema = z.strictObject({
  status: z.enum(['ok', 'degraded', 'misconfigured', 'off']),
  problems: z.int(),
  detail: z
    .strictObject({
      workspace_url: z.string().optional(),
      models: z.array(z.string()).optional(),
      setting: z.string().optional(),
      problems: z.array(z.strictObject({ kind: z.string(), scope: z.string(), message: z.string(), timestamp: z.int() })),
      last_run_timestamp: z.int().optional(),
      last_pass_timestamp: z.int().optional(),
      passes: z.int(),
      last_run_requests: z.int(),
      backing_off_until: z.int().optional(),
    })
    .optional(),
});

export type UnityCatalogStatus = z.output<typeof unityCatalogStatusSchema>;

/** Undefined while the source is off. One table read when it is on. */
export async function unityCatalogStatus(source: UnityCatalogSource, store: SnapshotStore | undefined, withDetail: boolean): Promise<UnityCatalogStatus | undefined> {
  if (source.kind === 'off') return undefined;
  if (source.kind === 'invalid' || !store) {
    const setting = source.kind === 'invalid' ? source.setting : '';
    const message = source.kind === 'invalid' ? source.problem : 'not configured';
    return {
      status: 'misconfigured',
      problems: 1,
      ...(withDetail ? { detail: { setting, problems: [{ kind: 'setting', scope: setting, message, timestamp: 0 }], passes: 0, last_run_requests: 0 } } : {}),
    };
  }
  const state = await store.readRunState();
  const { settings } = source;
  return {
    status: state.problems.length > 0 ? 'degraded' : 'ok',
    problems: state.problems.length,
    ...(withDetail
      ? {
          detail: {
            workspace_url: settings.workspaceUrl,
            models: settings.models.map((selector) => `${selector.catalog}.${selector.schema}.${selector.model}`),
            problems: state.problems.map((problem) => ({ kind: problem.kind, scope: problem.scope, message: problem.message, timestamp: problem.at })),
            ...(state.lastRunAt !== undefined ? { last_run_timestamp: state.lastRunAt } : {}),
            ...(state.lastPassAt !== undefined ? { last_pass_timestamp: state.lastPassAt } : {}),
            passes: state.passes,
            last_run_requests: state.lastRunRequests,
            ...(state.notBefore !== undefined ? { backing_off_until: state.notBefore } : {}),
          },
        }
      : {}),
  };
}
