import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobShapeOf, runNowBody } from '../../src/outbound/job-run-body.js';
import { databricksReason } from '../../src/outbound/job-target-sender.js';

const single = (task: Record<string, unknown>) => ({ settings: { tasks: [{ task_key: 't', ...task }] } });

describe('job payload shapes', () => {
  it('reads the shape from the job tasks', () => {
    assert.equal(jobShapeOf(single({ notebook_task: { notebook_path: '/x' } })), 'notebook');
    assert.equal(jobShapeOf(single({ python_wheel_task: {} })), 'notebook');
    assert.equal(jobShapeOf(single({ spark_python_task: {} })), 'python');
    assert.equal(jobShapeOf(single({ spark_jar_task: {} })), 'python');
    assert.equal(jobShapeOf(single({ spark_submit_task: {} })), 'python');
    assert.equal(jobShapeOf(single({ sql_task: {} })), 'none');
    assert.equal(jobShapeOf(single({ pipeline_task: {} })), 'none');
    assert.equal(jobShapeOf({ settings: { tasks: [{ notebook_task: {} }, { spark_jar_task: {} }] } }), 'multi');
    assert.equal(jobShapeOf({ settings: { notebook_task: {} } }), 'notebook', 'older single-task format');
    assert.equal(jobShapeOf({}), 'none');
  });

  it('builds the run-now bodies of the reference doc', () => {
    const payload = '{"event":"X","text":"quote \\" and 😀"}';
    assert.deepEqual(JSON.parse(runNowBody('1234567890', 'notebook', payload)), { job_id: 1234567890, notebook_params: { event_message: payload } });
    assert.deepEqual(JSON.parse(runNowBody('1234567890', 'python', payload)), { job_id: 1234567890, python_params: [payload] });
    assert.equal(runNowBody('1234567890', 'none', payload), '{"job_id":1234567890}');
    assert.deepEqual(JSON.parse(runNowBody('1', 'multi', payload)), {
      job_id: 1,
      notebook_params: { event_message: payload },
      python_named_params: { event_message: payload },
      jar_params: [payload],
      python_params: [payload],
      spark_submit_params: [payload],
    });
  });

  it('writes job_id as an integer without losing digits', () => {
    const body = runNowBody('9007199254740993123', 'none', '{}');
    assert.equal(body, '{"job_id":9007199254740993123}');
    assert.throws(() => runNowBody('1,"x":2', 'none', '{}'));
  });

  it('reads the reason out of a Databricks error body', () => {
    assert.equal(databricksReason(403, '{"error_code":"PERMISSION_DENIED","message":"no access"}'), 'HTTP 403 PERMISSION_DENIED: no access');
    assert.equal(databricksReason(502, 'bad gateway'), 'HTTP 502: bad gateway');
  });
});
