/** How a job takes the webhook payload, read from its tasks. */
export type JobShape = 'notebook' | 'python' | 'none' | 'multi';

const NOTEBOOK_TASKS = ['notebook_task', 'python_wheel_task'];
const PYTHON_TASKS = ['spark_python_task', 'spark_jar_task', 'spark_submit_task'];

const taskKinds = (task: unknown): string[] =>
  typeof task === 'object' && task !== null ? Object.keys(task).filter((key) => key.endsWith('_task')) : [];

/** A job's shape from its `jobs/get` answer (older single-task jobs carry the task at the top of `settings`). */
export function jobShapeOf(jobsGetAnswer: unknown): JobShape {
  const settings = (jobsGetAnswer as { settings?: { tasks?: unknown } } | undefined)?.settings;
  const tasks = Array.isArray(settings?.tasks) ? (settings.tasks as unknown[]) : settings ? [settings] : [];
  if (tasks.length > 1) return 'multi';
  const kinds = taskKinds(tasks[0]);
  if (kinds.some((kind) => NOTEBOOK_TASKS.includes(kind))) return 'notebook';
  if (kinds.some((kind) => PYTHON_TASKS.includes(kind))) return 'python';
  return 'none';
}

/**
 * The `jobs/run-now` body. `job_id` is written as a JSON integer from its digits, so a 16-digit id loses
 * nothing (JSON.stringify of a number would round it past 2^53).
 */
export function runNowBody(jobId: string, shape: JobShape, payload: string, idempotencyToken?: string): string {
  if (!/^\d+$/.test(jobId)) throw new Error('job_id must be digits');
  const named = { event_message: payload };
  const params: Record<string, unknown> =
    shape === 'notebook'
      ? { notebook_params: named }
      : shape === 'python'
        ? { python_params: [payload] }
        : shape === 'multi'
          ? { notebook_params: named, python_named_params: named, jar_params: [payload], python_params: [payload], spark_submit_params: [payload] }
          : {};
  // Databricks starts no second run for a token it has seen (at most 64 characters).
  if (idempotencyToken !== undefined) params.idempotency_token = idempotencyToken.slice(0, 64);
  const rest = JSON.stringify(params);
  return rest === '{}' ? `{"job_id":${jobId}}` : `{"job_id":${jobId},${rest.slice(1)}`;
}
