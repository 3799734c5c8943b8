import type { Clock } from '../shared/ids.js';
import type { Webhook } from '../webhooks/webhook.js';
import { classifyAttempt, type AttemptResult, type Outcome } from './classify-outcome.js';
import type { OutboundClient } from './http-client.js';
import { redactSecrets } from './redact.js';
import { jobShapeOf, runNowBody, type JobShape } from './job-run-body.js';
import { USER_AGENT } from './sign-payload.js';
import type { TargetSender } from './target-sender.js';
import type { Destination } from './origin-gate.js';
import { parseTargetUrl, type TargetPolicy } from '../webhooks/target-policy.js';
import { errorMessage } from '../shared/errors.js';
import { definedOnly } from '../shared/defined.js';

/** How long what `jobs/get` said about a job is trusted: a changed job is picked up within this time. */
export const JOB_SHAPE_TTL_MS = 60_000;

const PERMANENT_WORKSPACE_ANSWERS = new Set([401, 403, 404]);

/** The reason in a Databricks error body (`{"error_code", "message"}`), or the body itself. */
export function databricksReason(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error_code?: unknown; message?: unknown };
    const code = typeof parsed.error_code === 'string' ? parsed.error_code : '';
    const message = typeof parsed.message === 'string' ? parsed.message : '';
    if (code || message) return `HTTP ${status} ${code}: ${message}`.trim();
  } catch {
    // not JSON: fall through
  }
  return `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
}

/**
 * Job targets: `POST {workspace}/api/2.1/jobs/run-now` with the payload placed as the job's tasks take it,
 * read from `jobs/get` (cached for JOB_SHAPE_TTL_MS per workspace and job, one call per burst).
 */
export class JobTargetSender implements TargetSender {
  private readonly shapes = new Map<string, { shape: Promise<JobShape | AttemptResult>; expires: number }>();

  constructor(
    private readonly client: OutboundClient,
    private readonly options: { policy: TargetPolicy; defaultWorkspaceUrl?: string | undefined; clock: Clock; shapeTtlMs?: number },
  ) {}

  workspaceOf(webhook: Webhook): string | undefined {
    return webhook.target.kind === 'job' ? (webhook.target.workspaceUrl ?? this.options.defaultWorkspaceUrl) : undefined;
  }

  /** The workspace is the origin; each job is an endpoint of its own, so one job's timeouts hold only that job. */
  destinationOf(webhook: Webhook): Destination {
    const origin = this.workspaceOf(webhook) ?? '';
    return { origin, endpoint: webhook.target.kind === 'job' ? `${origin} job ${webhook.target.jobId}` : origin };
  }

  async send(webhook: Webhook, payload: string, _messageId?: string, maxResponseBytes?: number, idempotencyToken?: string): Promise<AttemptResult> {
    const { target } = webhook;
    if (target.kind !== 'job') throw new Error('JobTargetSender needs a job target');
    const workspace = this.workspaceOf(webhook);
    if (!workspace) return { kind: 'error', error: 'no workspace_url, and DATABRICKS_WORKSPACE_URL is not set', retryable: false };
    try {
      parseTargetUrl(workspace, 'job_spec.workspace_url', this.options.policy);
    } catch (error) {
      return { kind: 'error', error: `blocked: ${errorMessage(error)}`, retryable: false };
    }
    const headers = { authorization: `Bearer ${target.accessToken}`, 'user-agent': USER_AGENT };
    const shape = await this.shapeOf(workspace, target.jobId, headers);
    if (typeof shape !== 'string') return shape;
    return this.client.send({
      url: `${workspace}/api/2.1/jobs/run-now`,
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: runNowBody(target.jobId, shape, payload, idempotencyToken),
      verifyTls: true,
      ...definedOnly({ maxResponseBytes }),
      redact: (text) => redactSecrets(text, target),
    });
  }

  /** 401, 403 and 404 from the workspace are permanent (bad token, no access, no such job); the rest as for HTTP. */
  classify(result: AttemptResult): Outcome {
    if (result.kind === 'response' && PERMANENT_WORKSPACE_ANSWERS.has(result.status)) {
      return { kind: 'permanent', reason: databricksReason(result.status, result.body), disableWebhook: false };
    }
    const outcome = classifyAttempt(result);
    if (outcome.kind !== 'success' && result.kind === 'response') return { ...outcome, reason: databricksReason(result.status, result.body) };
    return outcome;
  }

  /**
   * The job's shape, from the cache or from `jobs/get`. Concurrent asks for the same job share one call; only
   * an answer that named a shape is kept, so a failed call is tried again by the next attempt.
   */
  private shapeOf(workspace: string, jobId: string, headers: Record<string, string>): Promise<JobShape | AttemptResult> {
    const key = `${workspace}|${jobId}`;
    const now = this.options.clock();
    const cached = this.shapes.get(key);
    if (cached && cached.expires > now) return cached.shape;
    const shape = this.fetchShape(workspace, jobId, headers);
    if (this.shapes.size > 10_000) this.shapes.clear();
    const entry = { shape, expires: now + (this.options.shapeTtlMs ?? JOB_SHAPE_TTL_MS) };
    this.shapes.set(key, entry);
    void shape.then((answer) => {
      if (typeof answer !== 'string' && this.shapes.get(key) === entry) this.shapes.delete(key);
    });
    return shape;
  }

  private async fetchShape(workspace: string, jobId: string, headers: Record<string, string>): Promise<JobShape | AttemptResult> {
    const answer = await this.client.send({ url: `${workspace}/api/2.1/jobs/get?job_id=${jobId}`, method: 'GET', headers, verifyTls: true });
    if (answer.kind === 'error' || answer.status < 200 || answer.status >= 300) return answer;
    try {
      return jobShapeOf(JSON.parse(answer.body));
    } catch {
      return { kind: 'error', error: 'jobs/get answered something that is not JSON', retryable: true };
    }
  }
}
