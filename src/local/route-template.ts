/**
 * Route templates as the host reads them (literals, `{name}`, a trailing `{*name}`). The first route in function-name
 * order that matches and allows the method wins, not the most specific (docs/host-fidelity.md).
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

/** The host's order of function names: ordinal comparison ignoring case (.NET's `OrdinalIgnoreCase`). */
export function compareFunctionNames(a: string, b: string): number {
  const left = a.toUpperCase();
  const right = b.toUpperCase();
  return left < right ? -1 : left > right ? 1 : 0;
}

export interface RoutedFunction {
  name: string;
  route: string;
  methods: readonly string[];
}

export interface RouteTable<F extends RoutedFunction> {
  /** The function that answers `method path` under the host's rule, with its route parameters. */
  find(method: string, path: string): { fn: F; params: Record<string, string> } | undefined;
  /** The functions in the order the host adds their routes. */
  readonly order: readonly F[];
}

/** The host's routing: functions in name order, the first whose template matches and whose methods allow the method wins. */
export function hostRouteTable<F extends RoutedFunction>(functions: readonly F[]): RouteTable<F> {
  const routes = [...functions].sort((a, b) => compareFunctionNames(a.name, b.name)).map((fn) => ({ fn, template: parseRouteTemplate(fn.route) }));
  return {
    order: routes.map(({ fn }) => fn),
    find(method, path) {
      const wanted = method.toUpperCase();
      for (const { fn, template } of routes) {
        if (!fn.methods.some((allowed) => allowed.toUpperCase() === wanted)) continue;
        const params = matchRoute(template, path);
        if (params) return { fn, params };
      }
      return undefined;
    },
  };
}

/** A path the template matches: literals as written, each parameter `x`, a catch-all `x/y`. */
export function samplePath(route: RouteTemplate): string {
  return `/${route.segments.map((segment) => (segment.kind === 'literal' ? segment.text : segment.kind === 'param' ? 'x' : 'x/y')).join('/')}`;
}
