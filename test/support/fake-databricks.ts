import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';

export interface RunNowCall {
  rawBody: string;
  authorization: string;
}

export interface FakeDatabricks {
  url: string;
  /** jobs/run-now calls, with the body exactly as sent. */
  runNow: RunNowCall[];
  /** job ids asked for with jobs/get. */
  jobsGet: string[];
  /** The Authorization header of every request it got, answered or refused. */
  authorizations: string[];
  /** Runs actually started: as Databricks does, a run-now repeating an `idempotency_token` starts none. */
  runsStarted: number;
  /** The next run-now starts its run, then answers only after this long (so the caller times out). */
  answerNextRunNowAfter(ms: number): void;
  /** Sets a job's tasks (for jobs/get). */
  defineJob(jobId: string, tasks: Record<string, unknown>[]): void;
  /** Makes every call answer this status and Databricks error body from now on (undefined: normal). */
  failWith(status: number | undefined, errorCode?: string, message?: string): void;
  close(): Promise<void>;
}

/**
 * A small stand-in for a Databricks workspace's Jobs API 2.1: `jobs/get` answers the tasks of the jobs it was
 * given; `jobs/run-now` records the call and answers a run id, the same one (and no new run) for a repeated
 * `idempotency_token`. Both check the bearer token.
 */
export async function startFakeDatabricks(token: string): Promise<FakeDatabricks> {
  const jobs = new Map<string, Record<string, unknown>[]>();
  const runNow: RunNowCall[] = [];
  const jobsGet: string[] = [];
  const authorizations: string[] = [];
  let failure: { status: number; errorCode: string; message: string } | undefined;
  let runId = 1000;
  let runsStarted = 0;
  let slowNext = 0;
  const runsByToken = new Map<string, number>();
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const json = (status: number, body: unknown) => outgoing.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      authorizations.push(incoming.headers.authorization ?? '');
      if (failure) return json(failure.status, { error_code: failure.errorCode, message: failure.message });
      if (incoming.headers.authorization !== `Bearer ${token}`) return json(401, { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' });
      const url = new URL(incoming.url ?? '/', 'http://fake');
      if (incoming.method === 'GET' && url.pathname === '/api/2.1/jobs/get') {
        const jobId = url.searchParams.get('job_id') ?? '';
        jobsGet.push(jobId);
        const tasks = jobs.get(jobId);
        return tasks ? json(200, { job_id: Number(jobId), settings: { name: `job ${jobId}`, tasks } }) : json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: `Job ${jobId} does not exist.` });
      }
      if (incoming.method === 'POST' && url.pathname === '/api/2.1/jobs/run-now') {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        runNow.push({ rawBody, authorization: incoming.headers.authorization ?? '' });
        const token = (JSON.parse(rawBody) as { idempotency_token?: unknown }).idempotency_token;
        const known = typeof token === 'string' ? runsByToken.get(token) : undefined;
        const run = known ?? ++runId;
        if (known === undefined) {
          runsStarted += 1;
          if (typeof token === 'string') runsByToken.set(token, run);
        }
        const delay = slowNext;
        slowNext = 0;
        const answer = () => json(200, { run_id: run, number_in_job: run });
        if (delay > 0) setTimeout(answer, delay).unref();
        else answer();
        return;
      }
      return json(404, { error_code: 'ENDPOINT_NOT_FOUND', message: 'No API found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeDatabricks = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    runNow,
    jobsGet,
    authorizations,
    get runsStarted() {
      return runsStarted;
    },
    answerNextRunNowAfter: (ms) => {
      slowNext = ms;
    },
    defineJob: (jobId, tasks) => jobs.set(jobId, tasks),
    failWith: (status, errorCode = 'INTERNAL_ERROR', message = 'failure') => {
      failure = status === undefined ? undefined : { status, errorCode, message };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  after(() => fake.close());
  return fake;
}
