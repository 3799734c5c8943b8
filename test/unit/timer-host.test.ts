import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Timer } from '@azure/functions';
import { resolveSchedule, startTimers } from '../../src/local/timer-host.js';
import { installWorkerCore } from '../../src/local/worker-core.js';

// The functions register through @azure/functions, as src/app.ts does, into the runtime's stand-in core.
const core = installWorkerCore();
const { app } = await import('@azure/functions');

describe('local timer triggers', () => {
  it('resolves %SETTING% expressions and reads six-field NCRONTAB in UTC, a day matching both day fields', () => {
    const hourly = resolveSchedule('retention', '%RETENTION_SCHEDULE%', { RETENTION_SCHEDULE: '0 0 * * * *' });
    assert.ok('cron' in hourly);
    assert.equal(hourly.cron.nextRun(new Date('2026-11-29T10:15:00Z'))?.toISOString(), '2026-11-29T11:00:00.000Z');
    const fridayThe13th = resolveSchedule('f', '0 0 0 13 * 5', {});
    assert.ok('cron' in fridayThe13th);
    assert.equal(fridayThe13th.cron.nextRun(new Date('2026-01-01T00:00:00Z'))?.toISOString(), '2026-02-13T00:00:00.000Z');
  });

  it('reports a schedule that does not resolve, or is not NCRONTAB, as the host does', () => {
    assert.deepEqual(resolveSchedule('retention', '%RETENTION_SCHEDULE%', {}), {
      error: "Microsoft.Azure.WebJobs.Host: Error indexing method 'Functions.retention'. Microsoft.Azure.WebJobs.Host: '%RETENTION_SCHEDULE%' does not resolve to a value.",
    });
    for (const bad of ['0 * * * *', 'hourly', '0 0 25 * * *']) {
      const resolved = resolveSchedule('retention', '%S%', { S: bad });
      assert.ok('error' in resolved && resolved.error.includes(`The schedule expression '${bad}' was not recognized`), bad);
    }
  });

  it('a bad schedule never stops the other functions; runs one at a time, and a run that comes late is isPastDue', async () => {
    const calls: { isPastDue: boolean; at: number }[] = [];
    let running = 0;
    let mostAtOnce = 0;
    app.timer('slow', {
      schedule: '* * * * * *',
      handler: async (timer: Timer) => {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        calls.push({ isPastDue: timer.isPastDue, at: Date.now() });
        if (calls.length === 1) await new Promise((resolve) => setTimeout(resolve, 2500));
        running -= 1;
      },
    });
    app.timer('broken', { schedule: '%NOT_SET%', handler: () => undefined });
    const logs: string[] = [];
    const timers = startTimers(core.functions, {}, (level, name, message) => logs.push(`${level} ${name}: ${message}`));
    assert.equal(timers.length, 1);
    assert.ok(logs.some((line) => line.startsWith("error host: The 'broken' function is in error:") && line.includes("'%NOT_SET%' does not resolve to a value")));
    while (calls.length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all(timers.map((timer) => timer.stop()));
    assert.equal(mostAtOnce, 1, 'never two runs of one timer at once');
    assert.deepEqual(
      calls.slice(0, 3).map((call) => call.isPastDue),
      [false, true, false],
      'the occurrences missed during the slow run collapse into one late run, then the schedule goes on',
    );
  });
});
