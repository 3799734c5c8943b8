// Copies the overview's screenshot from the browser test's git-ignored folder to docs/console.png. Run it after
// `npm test -- test/e2e/console-overview.e2e.test.ts`; a test never writes into docs/, so `git status` stays clean.
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const name = process.argv[2] ?? 'overview-light';
const from = fileURLToPath(new URL(`../.artifacts/console-overview/${name}.png`, import.meta.url));
const to = fileURLToPath(new URL('../docs/console.png', import.meta.url));
if (!existsSync(from)) {
  console.error(`No ${from}: run npm test -- test/e2e/console-overview.e2e.test.ts first.`);
  process.exit(1);
}
copyFileSync(from, to);
console.log(`copied ${from} (${statSync(from).size} bytes, taken ${statSync(from).mtime.toISOString()}) to ${to}`);
