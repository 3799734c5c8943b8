// npm run rotate-secrets: re-seals every stored secret (`secret`, `authorization`, `access_token`) with the
// current WEBHOOKS_SECRET_KEY. Run it after moving the old key to WEBHOOKS_SECRET_KEY_PREVIOUS and setting a new
// WEBHOOKS_SECRET_KEY; it only rewrites rows sealed with another key, each only if unchanged meanwhile, so it
// is safe to run again and beside live traffic. Settings come from the environment, else local.settings.json.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/config.js';
import { applyLocalSettings } from '../src/local/settings.js';
import { createStorageClients } from '../src/storage/azure-clients.js';
import { TABLES } from '../src/storage/names.js';
import { SecretBox } from '../src/storage/secret-box.js';
import { TableWebhookStore } from '../src/storage/table-webhook-store.js';

applyLocalSettings(fileURLToPath(new URL('../local.settings.json', import.meta.url)));
const config = loadConfig();
const storage = createStorageClients(config.storage);
const store = new TableWebhookStore(storage.table(TABLES.webhooks), storage.table(TABLES.webhookIds), new SecretBox(config.secretKey, config.previousSecretKey));
const { scanned, resealed, unreadable } = await store.resealSecrets();
console.log(`rotate-secrets: ${scanned} webhooks scanned, ${resealed} re-sealed with the current key, ${unreadable.length} unreadable`);
if (unreadable.length > 0) {
  console.error(`sealed with a key that is neither WEBHOOKS_SECRET_KEY nor WEBHOOKS_SECRET_KEY_PREVIOUS: ${unreadable.join(', ')}`);
  process.exit(2);
}
