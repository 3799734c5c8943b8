import { startReceiver, type Receiver } from './receiver.js';

const parse = (body: string): unknown => {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface Dispatch {
  repo: string;
  event_type: string;
  client_payload: Record<string, unknown>;
}

export interface FakeGitHub extends Receiver {
  dispatches: Dispatch[];
  /** The `…/repos/<owner>/<repo>/dispatches` URL of a repository the fake knows. */
  dispatchUrl: string;
}

/**
 * GitHub's REST API, `POST /repos/{owner}/{repo}/dispatches` (repository_dispatch): a token is required (401 "Requires
 * authentication" / "Bad credentials"), unknown repositories are 404, a User-Agent is required (403), `event_type`
 * (1 to 100 characters) is required and `client_payload` may hold at most 10 top-level properties (422); 204 on success.
 */
export async function startFakeGitHub(token: string, repo = 'ml-team/deployments'): Promise<FakeGitHub> {
  const dispatches: Dispatch[] = [];
  const docs = 'https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event';
  const receiver = await startReceiver({
    behaviour: (request, _n, response) => {
      const json = (status: number, body: Record<string, unknown>) => response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
      const match = /^\/repos\/([^/]+\/[^/]+)\/dispatches$/.exec(request.path);
      if (request.method !== 'POST' || !match) return json(404, { message: 'Not Found', documentation_url: docs, status: '404' });
      if (!request.headers['user-agent']) return json(403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.' });
      const authorization = request.headers.authorization;
      if (!authorization) return json(401, { message: 'Requires authentication', documentation_url: docs, status: '401' });
      if (authorization !== `Bearer ${token}` && authorization !== `token ${token}`) return json(401, { message: 'Bad credentials', documentation_url: docs, status: '401' });
      if (match[1] !== repo) return json(404, { message: 'Not Found', documentation_url: docs, status: '404' });
      const body = parse(request.body);
      if (!isObject(body) || typeof body.event_type !== 'string' || body.event_type.length < 1 || body.event_type.length > 100) {
        return json(422, { message: 'Invalid request.\n\n"event_type" wasn\'t supplied.', documentation_url: docs, status: '422' });
      }
      const payload = body.client_payload ?? {};
      if (!isObject(payload)) return json(422, { message: 'Invalid request.\n\nFor \'properties/client_payload\', is not an object.', documentation_url: docs, status: '422' });
      const count = Object.keys(payload).length;
      if (count > 10) return json(422, { message: `Invalid request.\n\nNo more than 10 properties are allowed; ${count} were supplied.`, documentation_url: docs, status: '422' });
      dispatches.push({ repo: match[1], event_type: body.event_type, client_payload: payload });
      response.writeHead(204).end();
    },
  });
  return Object.assign(receiver, { dispatches, dispatchUrl: `${new URL(receiver.url).origin}/repos/${repo}/dispatches` });
}

export interface PipelineRun {
  pipelineId: number;
  templateParameters: Record<string, string>;
  authorization: string;
}

export interface FakeAzureDevOps extends Receiver {
  runs: PipelineRun[];
  /** The runs URL of the pipeline the fake knows, with `api-version=7.1`. */
  runsUrl: string;
}

const SIGN_IN_PAGE = '<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in</body></html>';

/**
 * Azure DevOps' Pipelines REST API, `POST {organization}/{project}/_apis/pipelines/{pipelineId}/runs?api-version=7.1`:
 * no `api-version` is 400; a missing or wrong token answers 203 with the sign-in page, as the service does; the
 * pipeline declares one string parameter, `event_message`, and any other template parameter is a 400
 * PipelineValidationException; a started run answers 200 with the Run.
 */
export async function startFakeAzureDevOps(pat: string, bearer?: string): Promise<FakeAzureDevOps> {
  const runs: PipelineRun[] = [];
  const pipelineId = 17;
  let runId = 100;
  const receiver = await startReceiver({
    behaviour: (request, _n, response) => {
      const url = new URL(request.path, 'http://fake');
      const json = (status: number, body: Record<string, unknown>) => response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
      const error = (status: number, message: string, typeKey: string) =>
        json(status, { $id: '1', innerException: null, message, typeName: `Microsoft.Azure.Pipelines.WebApi.${typeKey}, Microsoft.Azure.Pipelines.WebApi`, typeKey, errorCode: 0, eventId: 3000 });
      const match = /^\/([^/]+)\/([^/]+)\/_apis\/pipelines\/(\d+)\/runs$/.exec(url.pathname);
      if (request.method !== 'POST' || !match) return error(404, 'The controller for path was not found.', 'NotFoundException');
      if (!url.searchParams.get('api-version')) return error(400, 'No api-version was supplied for the "POST" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. "?api-version=1.0").', 'VssVersionNotSpecifiedException');
      const authorization = request.headers.authorization ?? '';
      const basic = `Basic ${Buffer.from(`:${pat}`).toString('base64')}`;
      if (authorization !== basic && (bearer === undefined || authorization !== `Bearer ${bearer}`)) {
        return response.writeHead(203, { 'content-type': 'text/html; charset=utf-8' }).end(SIGN_IN_PAGE);
      }
      if (Number(match[3]) !== pipelineId) return error(404, `Pipeline with id ${match[3]} not found.`, 'PipelineNotFoundException');
      const body = parse(request.body);
      const parameters = isObject(body) ? (body.templateParameters ?? {}) : undefined;
      if (!isObject(parameters)) return error(400, 'Value cannot be null.\r\nParameter name: runParameters', 'ArgumentNullException');
      for (const [name, value] of Object.entries(parameters)) {
        if (name !== 'event_message') return error(400, `Unexpected parameter '${name}'`, 'PipelineValidationException');
        if (typeof value !== 'string') return error(400, `The 'event_message' parameter value is not a valid String.`, 'PipelineValidationException');
      }
      runs.push({ pipelineId, templateParameters: parameters as Record<string, string>, authorization });
      runId += 1;
      const web = `${url.origin}/${match[1]}/${match[2]}/_build/results?buildId=${runId}`;
      return json(200, {
        _links: { self: { href: `${url.origin}${url.pathname}/${runId}` }, web: { href: web } },
        pipeline: { url: `${url.origin}/${match[1]}/${match[2]}/_apis/pipelines/${pipelineId}`, id: pipelineId, revision: 3, name: 'deploy-model', folder: '\\' },
        state: 'inProgress',
        createdDate: new Date().toISOString(),
        url: `${url.origin}${url.pathname}/${runId}`,
        resources: { repositories: { self: { repository: { id: 'r', type: 'azureReposGit' }, refName: 'refs/heads/main', version: 'abc' } } },
        templateParameters: parameters,
        id: runId,
        name: `20261207.${runId}`,
      });
    },
  });
  return Object.assign(receiver, { runs, runsUrl: `${new URL(receiver.url).origin}/ml-org/models/_apis/pipelines/${pipelineId}/runs?api-version=7.1` });
}
