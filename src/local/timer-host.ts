import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { errorMessage } from '../shared/errors.js';
import type { HostLog } from './http-host.js';
import type { RegisteredFunction } from './worker-core.js';

type Env = Record<string, string | undefined>;

/** The timer functions among those the app registered, with their schedule as registered. */
export function timerFunctionsOf(functions: readonly RegisteredFunction[]): { fn: RegisteredFunction; schedule: string }[] {
  return functions.flatMap((fn) => {
    const { binding } = fn.trigger;
    const schedule = (binding as { schedule?: unknown }).schedule;
    return binding.type === 'timerTrigger' && typeof schedule === 'string' ? [{ fn, schedule }] : [];
  });
}

/** A schedule as the host reads it: `%NAME%` settings replaced, then a six-field NCRONTAB in UTC; or the host's error. */
export function resolveSchedule(functionName: string, schedule: string, env: Env): { cron: Cron; expression: string } | { error: string } {
  const indexing = `Microsoft.Azure.WebJobs.Host: Error indexing method 'Functions.${functionName}'.`;
  const unresolved = [...schedule.matchAll(/%([^%]+)%/g)].find((match) => !env[match[1] ?? '']?.trim());
  if (unresolved) return { error: `${indexing} Microsoft.Azure.WebJobs.Host: '${unresolved[0]}' does not resolve to a value.` };
  const expression = schedule.replace(/%([^%]+)%/g, (_, name: string) => env[name]?.trim() ?? '');
  try {
    if (expression.split(/\s+/).length !== 6) throw new Error('six fields expected');
    return { cron: new Cron(expression, { mode: '6-part', domAndDow: true, timezone: 'UTC', paused: true }), expression };
  } catch {
    return { error: `${indexing} Microsoft.Azure.WebJobs.Extensions.Timers: The schedule expression '${expression}' was not recognized as a valid cron expression or timespan string.` };
  }
}

/** The timer input the host sends; @azure/functions camelCases it into `Timer`. */
const timerInput = (isPastDue: boolean, last: Date | undefined, next: Date | null, now: Date) => ({
  json: JSON.stringify({
    Schedule: { AdjustForDST: true },
    ScheduleStatus: { Last: (last ?? new Date(0)).toISOString(), Next: (next ?? now).toISOString(), LastUpdated: now.toISOString() },
    IsPastDue: isPastDue,
  }),
});

/** Runs one timer function as the host does: one run at a time, missed occurrences collapsing into one past-due run. */
export class TimerListener {
  private handle: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private missed = false;
  private stopped = false;
  private last: Date | undefined;

  constructor(
    private readonly fn: RegisteredFunction,
    private readonly cron: Cron,
    private readonly log: HostLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.handle);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    const next = this.cron.nextRun(this.now());
    if (!next) return;
    this.handle = setTimeout(() => this.fire(), Math.max(0, next.getTime() - this.now().getTime()));
  }

  private fire(): void {
    if (this.running) this.missed = true;
    else this.running = this.run(false);
    this.schedule();
  }

  private async run(isPastDue: boolean): Promise<void> {
    const id = randomUUID();
    const now = this.now();
    this.log('information', this.fn.name, `Executing 'Functions.${this.fn.name}' (Reason='Timer fired at ${now.toISOString()}', Id=${id})`);
    try {
      await this.fn.invoke(id, timerInput(isPastDue, this.last, this.cron.nextRun(now), now), {}, (level, _category, line) => this.log(level, this.fn.name, line));
      this.log('information', this.fn.name, `Executed 'Functions.${this.fn.name}' (Succeeded, Id=${id})`);
    } catch (error) {
      this.log('error', this.fn.name, `Executed 'Functions.${this.fn.name}' (Failed, Id=${id}): ${errorMessage(error)}`);
    }
    this.last = now;
    if (this.missed && !this.stopped) {
      this.missed = false;
      this.running = this.run(true);
      return;
    }
    this.running = undefined;
  }
}

/**
 * Starts a listener per timer function whose schedule resolves; one that does not is reported as the host
 * reports a function in error, and the other functions run on.
 */
export function startTimers(functions: readonly RegisteredFunction[], env: Env, log: HostLog): TimerListener[] {
  return timerFunctionsOf(functions).flatMap(({ fn, schedule }) => {
    const resolved = resolveSchedule(fn.name, schedule, env);
    if ('error' in resolved) {
      log('error', 'host', `The '${fn.name}' function is in error: ${resolved.error}`);
      return [];
    }
    const listener = new TimerListener(fn, resolved.cron, log);
    listener.start();
    return [listener];
  });
}
