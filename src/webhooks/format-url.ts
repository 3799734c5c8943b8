import type { PayloadFormat } from './webhook.js';

/** Why a URL cannot be the target of the format, if it cannot: the services' endpoints have a fixed shape. */
export function urlProblemFor(format: PayloadFormat | undefined, url: URL): string | undefined {
  if (format === 'github_dispatch' && !/\/repos\/[^/]+\/[^/]+\/dispatches$/.test(url.pathname)) {
    return 'must be a repository_dispatch URL, https://api.github.com/repos/<owner>/<repo>/dispatches, for format github_dispatch';
  }
  if (format === 'azure_devops_pipeline') {
    if (!/\/_apis\/pipelines\/\d+\/runs$/.test(url.pathname)) {
      return 'must be a pipeline runs URL, https://dev.azure.com/<organization>/<project>/_apis/pipelines/<pipeline id>/runs?api-version=7.1, for format azure_devops_pipeline';
    }
    if (!url.searchParams.get('api-version')) return "must carry '?api-version=7.1' for format azure_devops_pipeline";
  }
  return undefined;
}
