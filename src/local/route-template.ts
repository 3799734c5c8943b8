/**
 * Route templates as the Functions host reads them: literal segments, `{name}` parameters and a trailing
 * `{*name}` catch-all. Matching is case-insensitive on literals, and more specific templates win (literal,
 * then parameter, then catch-all, segment by segment), as in ASP.NET routing.
 */
type Segment = { kind: 'literal'; text: string } | { kind: 'param'; name: string } | { kind: 'catchAll'; name: string };

export interface RouteTemplate {
  template: string;
  segments: Segment[];
}

export function parseRouteTemplate(template: string): RouteTemplate {
  const segments = template
    .split('/')
    .filter((part) => part !== '')
    .map((part): Segment => {
      const catchAll = /^\{\*(\w+)\}$/.exec(part);
      if (catchAll?.[1]) return { kind: 'catchAll', name: catchAll[1] };
      const param = /^\{(\w+)\??\}$/.exec(part);
      if (param?.[1]) return { kind: 'param', name: param[1] };
      return { kind: 'literal', text: part.toLowerCase() };
    });
  return { template, segments };
}

/** The route parameters when the path matches, otherwise undefined. */
export function matchRoute(route: RouteTemplate, path: string): Record<string, string> | undefined {
  const parts = path.split('/').filter((part) => part !== '');
  const params: Record<string, string> = {};
  for (const [index, segment] of route.segments.entries()) {
    if (segment.kind === 'catchAll') {
      params[segment.name] = parts.slice(index).map(decodeURIComponent).join('/');
      return params;
    }
    const part = parts[index];
    if (part === undefined) return undefined;
    if (segment.kind === 'literal' && decodeURIComponent(part).toLowerCase() !== segment.text) return undefined;
    if (segment.kind === 'param') params[segment.name] = decodeURIComponent(part);
  }
  return parts.length === route.segments.length ? params : undefined;
}

const RANK = { literal: 0, param: 1, catchAll: 2 } as const;

/** Sorts most specific first. */
export function compareSpecificity(a: RouteTemplate, b: RouteTemplate): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let index = 0; index < length; index += 1) {
    const left = a.segments[index];
    const right = b.segments[index];
    if (!left || !right) return left ? -1 : 1;
    const difference = RANK[left.kind] - RANK[right.kind];
    if (difference !== 0) return difference;
  }
  return 0;
}
