// npm run check:infra: compiles and lints infra/main.bicep (and its modules) with the real Bicep compiler;
// any warning or error fails.
import { BICEP_VERSION, compileBicep, runBicep } from './bicep.js';

const file = 'infra/main.bicep';
compileBicep(file);
const lint = runBicep(['lint', file]);
if (!lint.ok) {
  console.error(`bicep lint ${file}:\n${lint.output}`);
  process.exit(1);
}
console.log(`bicep ${BICEP_VERSION}: ${file} builds and lints with no warnings or errors`);
