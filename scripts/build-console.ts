// `npm run build` (after tsc): bundles the console into dist/console, which the deployment package ships.
import { fileURLToPath } from 'node:url';
import { buildConsole } from '../src/local/console-build.js';

const { out } = await buildConsole(fileURLToPath(new URL('..', import.meta.url)));
console.log(`console built into ${out}`);
