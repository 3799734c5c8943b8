// Searches everything the test suite recorded (runtime logs, API responses, stored entities and queue
// messages) for every secret, token and authorization value the tests used, and for any JWT. Run by
// `npm test` after the tests; exits 1 on a find.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: scan-test-artifacts <dir>');
const files = readdirSync(dir);
const secrets = new Set<string>();
for (const file of files.filter((name) => name.endsWith('.list'))) {
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean)) {
    const value = JSON.parse(line) as string;
    secrets.add(value);
    const bare = value.replace(/^\S+\s+/, '');
    if (bare.length >= 8) secrets.add(bare);
  }
}
// Values the README publishes as examples (its `anyRandomString` secret, used as is by the test of its receiver
// recipe) are public: the OpenAPI document serves them as examples, so they are not searched for.
const published = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
for (const secret of [...secrets]) if (published.includes(secret)) secrets.delete(secret);
const jwt = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/;
let bytes = 0;
const finds: string[] = [];
for (const file of files.filter((name) => name.endsWith('.txt'))) {
  const text = readFileSync(join(dir, file), 'utf8');
  bytes += text.length;
  for (const secret of secrets) if (text.includes(secret)) finds.push(`${file}: a secret (${secret.slice(0, 4)}…)`);
  if (jwt.test(text)) finds.push(`${file}: a JWT`);
}
console.log(`leak scan: ${files.length - files.filter((name) => name.endsWith('.list')).length} artifact files, ${(bytes / 1024).toFixed(0)} KiB of logs, API responses and stored entities, ${secrets.size} secrets searched, ${finds.length} found`);
if (finds.length > 0) {
  for (const find of finds) console.error(`  LEAK ${find}`);
  process.exit(1);
}
