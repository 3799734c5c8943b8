import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig, parseRateLimit, parseRetrySchedule, parseStorageSettings, SETTINGS } from '../../src/config/config.js';
import { parseAuthTokens as parseTokens } from '../../src/auth/static-tokens.js';
import { ConfigError } from '../../src/shared/errors.js';
import { parseDuration, parseTimeSpan } from '../../src/config/duration.js';
import { dayKeyOf } from '../../src/storage/key-encoding.js';

/** The parser as the app calls it, naming its setting. */
const parseAuthTokens = (raw: string) => parseTokens(raw, SETTINGS.authTokens);

const key = randomBytes(32).toString('base64');
const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', WEBHOOKS_SECRET_KEY: key };

describe('config', () => {
  it('reads the documented defaults', () => {
    const config = loadConfig(base);
    assert.deepEqual(config.retryScheduleMs, [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    assert.equal(config.deliveryTimeoutMs, 15_000);
    assert.equal(config.allowHttpTargets, false);
    assert.equal(config.allowPrivateTargets, false);
    assert.deepEqual(config.authTokens, []);
    assert.equal(config.oidc, undefined);
    assert.equal(config.databricksWorkspaceUrl, undefined);
    assert.equal(config.secretKey.length, 32);
  });

  it('reads retention and auto-disable settings in days, with their defaults, and refuses bad ones naming the setting', () => {
    const defaults = loadConfig(base);
    assert.deepEqual([defaults.deliveryRetentionMs, defaults.auditRetentionMs, defaults.autoDisableAfterMs], [30 * 86_400_000, 400 * 86_400_000, 5 * 86_400_000]);
    const set = loadConfig({ ...base, DELIVERY_RETENTION: '7d', AUDIT_RETENTION: '36h', WEBHOOKS_AUTO_DISABLE_AFTER: '0' });
    assert.deepEqual([set.deliveryRetentionMs, set.auditRetentionMs, set.autoDisableAfterMs], [7 * 86_400_000, 36 * 3_600_000, 0]);
    assert.throws(() => loadConfig({ ...base, DELIVERY_RETENTION: '12h' }), /DELIVERY_RETENTION must be at least 1d/);
    for (const bad of ['0d', '-1d', '12h']) {
      assert.throws(() => loadConfig({ ...base, DELIVERY_RETENTION: bad }), (error: unknown) => error instanceof ConfigError && error.setting === 'DELIVERY_RETENTION', bad);
    }
    assert.throws(() => loadConfig({ ...base, AUDIT_RETENTION: '0d' }), (error: unknown) => error instanceof ConfigError && error.setting === 'AUDIT_RETENTION');
    assert.throws(() => loadConfig({ ...base, AUDIT_RETENTION: 'forever' }), /AUDIT_RETENTION: 'forever' is not a duration/);
    assert.throws(() => loadConfig({ ...base, WEBHOOKS_AUTO_DISABLE_AFTER: '5 days' }), /WEBHOOKS_AUTO_DISABLE_AFTER/);
  });

  it('refuses a duration that rounds to 0 ms rather than reading it as 0 (which turns auto-disable off)', () => {
    assert.throws(() => loadConfig({ ...base, WEBHOOKS_AUTO_DISABLE_AFTER: '0.00001s' }), (error: unknown) => error instanceof ConfigError && error.setting === 'WEBHOOKS_AUTO_DISABLE_AFTER' && /shorter than 1ms/.test(error.message));
    assert.equal(loadConfig({ ...base, WEBHOOKS_AUTO_DISABLE_AFTER: '0s' }).autoDisableAfterMs, 0);
  });

  it('refuses a duration too long to be a date (its retention cutoff would not be one), naming the setting', () => {
    for (const [setting, bad] of [['DELIVERY_RETENTION', '999999999d'], ['AUDIT_RETENTION', '36501d'], ['DELIVERY_RETRY_SCHEDULE', '1s,99999999999999999999s']] as const) {
      assert.throws(() => loadConfig({ ...base, [setting]: bad }), (error: unknown) => error instanceof ConfigError && error.setting === setting && /at most 36500d/.test(error.message), bad);
    }
    const longest = loadConfig({ ...base, DELIVERY_RETENTION: '36500d' });
    assert.match(dayKeyOf(Date.now() - longest.deliveryRetentionMs), /^\d{8}$/);
  });

  it('reads the circuit cool-down (30 s by default, 1 s to 10 min) and refuses a bad one naming the setting', () => {
    assert.equal(loadConfig(base).circuitCooldownMs, 30_000);
    assert.equal(loadConfig({ ...base, WEBHOOKS_CIRCUIT_COOLDOWN: '2s' }).circuitCooldownMs, 2000);
    for (const bad of ['500ms', '11m', 'soon', '0s']) {
      assert.throws(() => loadConfig({ ...base, WEBHOOKS_CIRCUIT_COOLDOWN: bad }), (error: unknown) => error instanceof ConfigError && error.setting === 'WEBHOOKS_CIRCUIT_COOLDOWN' && error.message.includes('WEBHOOKS_CIRCUIT_COOLDOWN'), bad);
    }
  });

  it('refuses to start without a secret key, saying how to make one', () => {
    assert.throws(() => loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /WEBHOOKS_SECRET_KEY is not set/);
      assert.match(error.message, /randomBytes\(32\)/);
      return true;
    });
  });

  it('refuses a key that is not base64 of 32 bytes', () => {
    for (const bad of [randomBytes(16).toString('base64'), 'not base64!!', `${key}x`]) {
      assert.throws(() => loadConfig({ ...base, WEBHOOKS_SECRET_KEY: bad }), /exactly 32 bytes/);
    }
    assert.throws(() => loadConfig({ ...base, WEBHOOKS_SECRET_KEY_PREVIOUS: 'short' }), /WEBHOOKS_SECRET_KEY_PREVIOUS/);
  });

  it('parses role:token lists, the token being everything after the first colon', () => {
    assert.deepEqual(parseAuthTokens('admin:abc:def-0123456789abc, manager:m-0123456789abcdef'), [
      { role: 'admin', token: 'abc:def-0123456789abc' },
      { role: 'manager', token: 'm-0123456789abcdef' },
    ]);
    assert.throws(() => parseAuthTokens('root:0123456789abcdef0'), /role one of admin, manager, publisher/);
    assert.throws(() => parseAuthTokens('admin:short'), /at least 16/);
    assert.throws(() => parseAuthTokens('admin'), /role:token/);
  });

  it('parses durations with ms, s, m, h and d', () => {
    assert.equal(parseDuration('250ms', 'X'), 250);
    assert.equal(parseDuration('1.5h', 'X'), 5_400_000);
    assert.throws(() => parseDuration('5 minutes', 'X'), /X: '5 minutes' is not a duration/);
    assert.deepEqual(parseRetrySchedule('0s, 200ms,1m'), [0, 200, 60_000]);
    assert.throws(() => parseRetrySchedule('8d'), /7 days/);
    assert.equal(parseDuration('30d', 'X'), 30 * 86_400_000);
    assert.throws(() => parseRetrySchedule('200h'), /7 days/);
    assert.throws(() => loadConfig({ ...base, DELIVERY_TIMEOUT: '0s' }), /greater than zero/);
  });

  it('parses host.json TimeSpans', () => {
    assert.equal(parseTimeSpan('00:00:02', 0), 2000);
    assert.equal(parseTimeSpan('1.02:03:04.5', 0), ((24 + 2) * 60 + 3) * 60_000 + 4500);
    assert.equal(parseTimeSpan(1500, 0), 1500);
    assert.equal(parseTimeSpan('garbage', 42), 42);
  });

  it('parses the rate limit', () => {
    assert.deepEqual(parseRateLimit('10/1s'), { capacity: 10, windowMs: 1000 });
    assert.equal(parseRateLimit('0').capacity, 0);
    assert.throws(() => parseRateLimit('ten/1s'), /WEBHOOKS_RATE_LIMIT/);
  });

  it('requires both OIDC settings or neither', () => {
    assert.throws(() => loadConfig({ ...base, WEBHOOKS_AUTH_OIDC_ISSUER: 'https://issuer.example' }), /must be set together/);
    const config = loadConfig({ ...base, WEBHOOKS_AUTH_OIDC_ISSUER: 'https://i.example/v2.0', WEBHOOKS_AUTH_OIDC_AUDIENCE: 'api://x' });
    assert.deepEqual(config.oidc, { issuer: 'https://i.example/v2.0', audience: 'api://x', grantsClaim: 'groups', grants: [] });
  });

  it('parses model-scoped token entries, patterns holding , and : inside their brackets', () => {
    assert.deepEqual(parseAuthTokens('manager[fraud-*|churn-model]:m-0123456789abcdef,publisher[*]:p-0123456789abcdef, manager[a,b|c:d]:x[y-0123456789abcdef'), [
      { role: 'manager', models: ['fraud-*', 'churn-model'], token: 'm-0123456789abcdef' },
      { role: 'publisher', models: ['*'], token: 'p-0123456789abcdef' },
      { role: 'manager', models: ['a,b', 'c:d'], token: 'x[y-0123456789abcdef' },
    ]);
    assert.deepEqual(parseAuthTokens('admin:a-0123456789abcdef'), [{ role: 'admin', token: 'a-0123456789abcdef' }], 'an entry without a scope keeps its meaning');
    const longest = '\u{1F680}'.repeat(256);
    assert.deepEqual(parseAuthTokens(`manager[${longest}]:m-0123456789abcdef`)[0]?.models, [longest], 'a model name of 256 characters outside the BMP can be granted exactly');
  });

  it('refuses malformed scoped entries with a ConfigError naming WEBHOOKS_AUTH_TOKENS and the entry, never the token', () => {
    const token = 'secret-token-0123456789';
    const cases: [string, RegExp][] = [
      [`manager[]:${token}`, /entry 1 has an empty model pattern/],
      [`manager[a||b]:${token}`, /empty model pattern/],
      [`manager[a|]:${token}`, /empty model pattern/],
      [`manager[*fraud]:${token}`, /model pattern 1 may hold '\*' only at its end/],
      [`manager[fr*aud]:${token}`, /only at its end/],
      [`manager[**]:${token}`, /only at its end/],
      [`manager[a | b]:${token}`, /whitespace/],
      [`manager[fraud-*:${token}`, /without a closing '\]'/],
      // A forgotten ']' makes the next entries part of the pattern: their tokens must not be quoted back.
      [`manager[fraud-*:${token},publisher[x]:other-token-0123456789`, /entry 1: model pattern 1 may hold '\*' only at its end/],
      [`manager[fraud|${token}*]x:other-token-0123456789`, /role:token/],
      [`manager[fraud|x*${token}]:other-token-0123456789`, /model pattern 2 may hold/],
      [`manager[fraud-*]x:${token}`, /role:token or role\[model patterns\]:token/],
      [`manager[fraud-*]${token}`, /role:token/],
      [`admin[*]:${token}`, /admin always covers every model/],
      [`admin:a-0123456789abcdef,root[x]:${token}`, /entry 2: .*role one of admin, manager, publisher/],
      [`manager[x]:short`, /at least 16/],
    ];
    for (const [raw, message] of cases) {
      for (const attempt of [() => parseAuthTokens(raw), () => loadConfig({ ...base, WEBHOOKS_AUTH_TOKENS: raw })]) {
        assert.throws(attempt, (error: Error) => {
          assert.ok(error instanceof ConfigError, raw);
          assert.match(error.message, /^WEBHOOKS_AUTH_TOKENS: /, raw);
          assert.match(error.message, message, raw);
          assert.ok(!error.message.includes(token) && !error.message.includes('secret-token'), `${raw}: ${error.message}`);
          return true;
        });
      }
    }
  });

  it('parses OIDC grants of claim values to roles and models', () => {
    const oidc = { ...base, WEBHOOKS_AUTH_OIDC_ISSUER: 'https://i.example/v2.0', WEBHOOKS_AUTH_OIDC_AUDIENCE: 'api://x' };
    const config = loadConfig({ ...oidc, WEBHOOKS_AUTH_OIDC_GRANTS: 'g-fraud=manager[fraud-*]; g-fraud=publisher[*] ;g-ops=manager;g-odd=manager[a;b=c|d]', WEBHOOKS_AUTH_OIDC_GRANTS_CLAIM: 'roles_ext' });
    assert.equal(config.oidc?.grantsClaim, 'roles_ext');
    assert.deepEqual(config.oidc?.grants, [
      { value: 'g-fraud', grant: { role: 'manager', models: ['fraud-*'] } },
      { value: 'g-fraud', grant: { role: 'publisher', models: ['*'] } },
      { value: 'g-ops', grant: { role: 'manager' } },
      { value: 'g-odd', grant: { role: 'manager', models: ['a;b=c', 'd'] } },
    ]);
    const malformed: [string, RegExp][] = [
      ['g=manager[]', /empty model pattern/],
      ['g=manager[*x]', /only at its end/],
      ['g=owner[x]', /must start with a role/],
      ['=manager', /empty claim value/],
      ['g', /<claim value>=<role>\[patterns\]/],
      ['g=manager[x] extra', /unexpected text after the grant/],
      ['g=admin[x]', /admin always covers every model/],
    ];
    for (const [raw, message] of malformed) {
      assert.throws(() => loadConfig({ ...oidc, WEBHOOKS_AUTH_OIDC_GRANTS: raw }), (error: Error) => error instanceof ConfigError && /^WEBHOOKS_AUTH_OIDC_GRANTS: /.test(error.message) && message.test(error.message), raw);
    }
    assert.throws(() => loadConfig({ ...base, WEBHOOKS_AUTH_OIDC_GRANTS: 'g=manager' }), /WEBHOOKS_AUTH_OIDC_GRANTS is set, but OIDC is not/);
  });

  it('keeps the workspace URL as an origin', () => {
    assert.equal(loadConfig({ ...base, DATABRICKS_WORKSPACE_URL: 'https://adb-1.2.azuredatabricks.net/' }).databricksWorkspaceUrl, 'https://adb-1.2.azuredatabricks.net');
    assert.throws(() => loadConfig({ ...base, DATABRICKS_WORKSPACE_URL: 'not a url' }), /DATABRICKS_WORKSPACE_URL/);
  });

  describe('storage settings, as the Functions host reads them', () => {
    it('takes a connection string', () => {
      assert.deepEqual(parseStorageSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }), { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
    });

    it('derives service URIs from an account name', () => {
      assert.deepEqual(parseStorageSettings({ AzureWebJobsStorage__accountName: 'acct', AzureWebJobsStorage__credential: 'managedidentity', AzureWebJobsStorage__clientId: 'cid' }), {
        kind: 'identity',
        queueServiceUri: 'https://acct.queue.core.windows.net',
        tableServiceUri: 'https://acct.table.core.windows.net',
        credential: 'managedidentity',
        clientId: 'cid',
      });
    });

    it('takes explicit service URIs', () => {
      const settings = parseStorageSettings({ AzureWebJobsStorage__queueServiceUri: 'https://q.example', AzureWebJobsStorage__tableServiceUri: 'https://t.example' });
      assert.deepEqual(settings, { kind: 'identity', queueServiceUri: 'https://q.example', tableServiceUri: 'https://t.example' });
    });

    it('says what to set when nothing is', () => {
      assert.throws(() => parseStorageSettings({}), /Storage is not configured/);
      assert.throws(() => parseStorageSettings({ AzureWebJobsStorage__queueServiceUri: 'https://q.example' }), /tableServiceUri/);
    });
  });
});
