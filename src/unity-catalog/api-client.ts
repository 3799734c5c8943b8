import { z } from 'zod';
import type { OutboundClient } from '../outbound/http-client.js';
import { databricksReason } from '../outbound/job-target-sender.js';
import { USER_AGENT } from '../outbound/sign-payload.js';
import { UnityCatalogFailure, type TokenSource } from './credentials.js';

/** The run spent its request budget: it stops here and the next run resumes. */
export class BudgetSpent extends Error {
  constructor() {
    super('request budget spent');
    this.name = 'BudgetSpent';
  }
}

/** Page sizes asked for (the server caps them: 10,000 models within a schema, 1,000 versions). */
const MODELS_PAGE = 1000;
const VERSIONS_PAGE = 1000;
/** A page token is opaque but bounded, so a misbehaving server cannot grow our requests. */
const MAX_PAGE_TOKEN_CHARS = 4096;

const pageToken = z.string().max(MAX_PAGE_TOKEN_CHARS).optional();

/** `RegisteredModelInfo` (databricks-sdk-py, service/catalog.py): the fields we read; others are ignored. */
const aliasSchema = z.object({ alias_name: z.string().min(1).max(255), version_num: z.number().int().positive() });
const modelSchema = z.object({ full_name: z.string().min(1).max(1000), created_at: z.number().int().optional(), aliases: z.array(aliasSchema).optional() });
const modelListSchema = z.object({ registered_models: z.array(z.object({ full_name: z.string().min(1).max(1000) })).optional(), next_page_token: pageToken });
/** `ModelVersionInfo`: `version` and `status` (PENDING_REGISTRATION, READY, FAILED_REGISTRATION, …). */
const versionListSchema = z.object({
  model_versions: z.array(z.object({ version: z.number().int().positive(), status: z.string().optional() })).optional(),
  next_page_token: pageToken,
});

export interface ModelDetails {
  fullName: string;
  createdAt: number | undefined;
  aliases: Record<string, number>;
}

/** Databricks error codes that say a catalog, schema or model is not there. */
const MISSING_CODES = /DOES_NOT_EXIST|NOT_FOUND/;

/**
 * The Unity Catalog REST calls the source makes, each counted against the run's budget. Answers become typed
 * results or a UnityCatalogFailure: 429/5xx/network `throttled`, 401/403 `denied`, 404 `missing`, anything
 * unreadable `malformed`.
 */
export class UnityCatalogApi {
  requests = 0;

  remaining(): number {
    return Math.max(0, this.budget - this.requests);
  }

  constructor(
    private readonly client: OutboundClient,
    private readonly workspaceUrl: string,
    private readonly tokens: TokenSource,
    private readonly budget: number,
  ) {}

  /** Full names of a schema's models, every page read until `next_page_token` is absent (empty pages included). */
  async listModels(catalog: string, schema: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ catalog_name: catalog, schema_name: schema, max_results: String(MODELS_PAGE), ...(token ? { page_token: token } : {}) });
      const page = await this.get(`/api/2.1/unity-catalog/models?${query.toString()}`, modelListSchema, `models of ${catalog}.${schema}`);
      names.push(...(page.registered_models ?? []).map((model) => model.full_name));
      token = page.next_page_token || undefined;
    } while (token);
    return names;
  }

  /** One model with its aliases: the list calls carry none, so `include_aliases=true` on the model itself. */
  async getModel(fullName: string): Promise<ModelDetails> {
    const model = await this.get(`/api/2.1/unity-catalog/models/${encodeURIComponent(fullName)}?include_aliases=true`, modelSchema, `model ${fullName}`);
    const aliases: Record<string, number> = {};
    for (const alias of model.aliases ?? []) aliases[alias.alias_name] = alias.version_num;
    return { fullName: model.full_name, createdAt: model.created_at, aliases };
  }

  /** The versions whose status is READY, ascending, across every page. */
  async readyVersions(fullName: string): Promise<number[]> {
    const ready: number[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ max_results: String(VERSIONS_PAGE), ...(token ? { page_token: token } : {}) });
      const page = await this.get(`/api/2.1/unity-catalog/models/${encodeURIComponent(fullName)}/versions?${query.toString()}`, versionListSchema, `versions of ${fullName}`);
      for (const version of page.model_versions ?? []) if (version.status === 'READY') ready.push(version.version);
      token = page.next_page_token || undefined;
    } while (token);
    return [...new Set(ready)].sort((a, b) => a - b);
  }

  private async get<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T> {
    let result = await this.send(path, false);
    if (result.kind === 'response' && result.status === 401) result = await this.send(path, true);
    if (result.kind === 'error') throw new UnityCatalogFailure(result.retryable ? 'throttled' : 'unavailable', `${what}: ${result.error}`);
    const { status, body } = result;
    if (status === 429 || status >= 500) throw new UnityCatalogFailure('throttled', `${what}: ${databricksReason(status, body)}`, { retryAfterMs: result.retryAfterMs });
    // 401 is the credential itself (refused twice, with a fresh token); 403 is one object's permissions.
    if (status === 401) throw new UnityCatalogFailure('denied', `${what}: ${databricksReason(status, body)}`, { wholeSource: true });
    if (status === 403) throw new UnityCatalogFailure('denied', `${what}: ${databricksReason(status, body)}`);
    if (status === 404 || (status === 400 && MISSING_CODES.test(body))) throw new UnityCatalogFailure('missing', `${what}: ${databricksReason(status, body)}`);
    if (status !== 200) throw new UnityCatalogFailure('malformed', `${what}: ${databricksReason(status, body)}`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new UnityCatalogFailure('malformed', `${what}: the answer is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new UnityCatalogFailure('malformed', `${what}: unexpected answer (${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''})`);
    return parsed.data;
  }

  private async send(path: string, refreshToken: boolean) {
    if (this.requests >= this.budget) throw new BudgetSpent();
    // Counted before any wait, so models read at the same time never spend more than the budget together.
    this.requests += 1;
    const token = await this.tokens.token(refreshToken).catch((error: unknown) => {
      throw error instanceof UnityCatalogFailure ? new UnityCatalogFailure(error.kind, error.message, { wholeSource: true, retryAfterMs: error.retryAfterMs }) : error;
    });
    return this.client.send({
      url: `${this.workspaceUrl}${path}`,
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': USER_AGENT },
      verifyTls: true,
      redact: (text) => text.replaceAll(token, '<redacted>'),
    });
  }
}
