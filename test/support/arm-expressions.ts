/**
 * A small evaluator of ARM template expressions (`[if(parameters('x'), ...)]`), enough to ask the compiled
 * infra/main.json what a deployment with given parameters would do: the functions our templates use for
 * conditions, names, tags and settings. Anything that only Azure knows (reference(), resourceId(), uniqueString()
 * and the like) evaluates to an opaque value, so a check that depends on it cannot pass by accident.
 */

export class ArmFail extends Error {}

export interface Opaque {
  opaque: string;
}

export const isOpaque = (value: unknown): value is Opaque => typeof value === 'object' && value !== null && 'opaque' in value;

export interface ArmScope {
  parameters: Record<string, unknown>;
  /** The template's raw variables, evaluated when referenced. */
  variables: Record<string, unknown>;
  /** The iteration of a copy loop being evaluated. */
  copyIndex?: number;
}

type Node = { kind: 'literal'; value: unknown } | { kind: 'call'; name: string; args: Node[] } | { kind: 'member'; target: Node; key: Node };

function parse(source: string): Node {
  let at = 0;
  const skip = () => {
    while (source[at] === ' ') at += 1;
  };
  const expect = (char: string) => {
    skip();
    if (source[at] !== char) throw new Error(`ARM expression: expected ${char} at ${at} in ${source}`);
    at += 1;
  };
  const primary = (): Node => {
    skip();
    const char = source[at];
    if (char === "'") {
      let text = '';
      at += 1;
      for (;;) {
        if (at >= source.length) throw new Error(`ARM expression: unterminated string in ${source}`);
        if (source[at] === "'" && source[at + 1] === "'") {
          text += "'";
          at += 2;
        } else if (source[at] === "'") {
          at += 1;
          return { kind: 'literal', value: text };
        } else {
          text += source.charAt(at);
          at += 1;
        }
      }
    }
    const number = /^-?\d+/.exec(source.slice(at));
    if (number) {
      at += number[0].length;
      return { kind: 'literal', value: Number(number[0]) };
    }
    const name = /^[A-Za-z_][\w.]*/.exec(source.slice(at))?.[0];
    if (!name) throw new Error(`ARM expression: unexpected ${char} at ${at} in ${source}`);
    at += name.length;
    expect('(');
    const args: Node[] = [];
    skip();
    if (source[at] === ')') at += 1;
    else {
      for (;;) {
        args.push(postfix());
        skip();
        if (source[at] === ',') at += 1;
        else break;
      }
      expect(')');
    }
    return { kind: 'call', name, args };
  };
  const postfix = (): Node => {
    let node = primary();
    for (;;) {
      skip();
      if (source[at] === '.') {
        at += 1;
        const key = /^\w+/.exec(source.slice(at))?.[0] ?? '';
        at += key.length;
        node = { kind: 'member', target: node, key: { kind: 'literal', value: key } };
      } else if (source[at] === '[') {
        at += 1;
        const key = postfix();
        expect(']');
        node = { kind: 'member', target: node, key };
      } else return node;
    }
  };
  const node = postfix();
  skip();
  if (at !== source.length) throw new Error(`ARM expression: trailing text at ${at} in ${source}`);
  return node;
}

const isEmpty = (value: unknown): boolean =>
  value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && !isOpaque(value) && Object.keys(value).length === 0);

function call(name: string, args: Node[], scope: ArmScope): unknown {
  const value = (index: number) => run(args[index] as Node, scope);
  const all = () => args.map((arg) => run(arg, scope));
  switch (name.toLowerCase()) {
    case 'parameters': {
      const key = String(value(0));
      if (!(key in scope.parameters)) throw new Error(`ARM expression: no parameter ${key}`);
      return scope.parameters[key];
    }
    case 'variables':
      return evaluate(scope.variables[String(value(0))], scope);
    case 'if': {
      const condition = value(0);
      if (isOpaque(condition)) return { opaque: 'if(?)' };
      return condition ? value(1) : value(2);
    }
    case 'and':
      return all().every(Boolean);
    case 'or':
      return all().some(Boolean);
    case 'not': {
      const subject = value(0);
      return isOpaque(subject) ? { opaque: 'not(?)' } : !subject;
    }
    case 'equals': {
      const [a, b] = all();
      if (isOpaque(a) || isOpaque(b)) return { opaque: 'equals(?)' };
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case 'greater':
      return Number(value(0)) > Number(value(1));
    case 'empty': {
      const subject = value(0);
      return isOpaque(subject) ? { opaque: 'empty(?)' } : isEmpty(subject);
    }
    case 'fail':
      throw new ArmFail(String(value(0)));
    case 'true':
      return true;
    case 'false':
      return false;
    case 'null':
      return null;
    case 'format': {
      // A value only Azure knows shows as {?}: the rest of the text (a Key Vault reference's secret name, say)
      // can still be checked.
      const [pattern, ...rest] = all();
      return String(pattern).replace(/\{(\d+)\}/g, (_, index: string) => (isOpaque(rest[Number(index)]) ? '{?}' : String(rest[Number(index)])));
    }
    case 'concat': {
      const parts = all();
      if (parts.every(Array.isArray)) return parts.flat();
      return parts.some(isOpaque) ? { opaque: 'concat(?)' } : parts.join('');
    }
    case 'createobject': {
      const parts = all();
      const object: Record<string, unknown> = {};
      for (let index = 0; index < parts.length; index += 2) object[String(parts[index])] = parts[index + 1];
      return object;
    }
    case 'copyindex':
      return scope.copyIndex ?? { opaque: 'copyIndex()' };
    case 'subscriptionresourceid': {
      // The subscription is unknown; the type and name, when known, are what a check can rely on.
      const parts = all();
      return parts.some(isOpaque) ? { opaque: 'subscriptionResourceId(?)' } : `/subscriptions/{subscription}/providers/${parts.join('/')}`;
    }
    case 'createarray':
      return all();
    case 'union':
      return Object.assign({}, ...all().map((part) => (isOpaque(part) ? {} : part)));
    case 'coalesce':
      return all().find((part) => part !== null && part !== undefined) ?? null;
    case 'length': {
      const subject = value(0);
      return Array.isArray(subject) || typeof subject === 'string' ? subject.length : { opaque: 'length(?)' };
    }
    default:
      return { opaque: `${name}(...)` };
  }
}

function run(node: Node, scope: ArmScope): unknown {
  if (node.kind === 'literal') return node.value;
  if (node.kind === 'call') return call(node.name, node.args, scope);
  const target = run(node.target, scope);
  const key = run(node.key, scope);
  if (isOpaque(target) || target === null || typeof target !== 'object') return { opaque: `?.${String(key)}` };
  return (target as Record<string, unknown>)[String(key)];
}

/** Evaluates a template value: expressions in strings, recursively through objects and arrays. */
export function evaluate(value: unknown, scope: ArmScope): unknown {
  if (typeof value === 'string') {
    if (value.startsWith('[[')) return value.slice(1);
    if (value.startsWith('[') && value.endsWith(']')) return run(parse(value.slice(1, -1)), scope);
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => evaluate(item, scope));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, evaluate(item, scope)]));
  return value;
}

interface TemplateParameter {
  defaultValue?: unknown;
}

/** The parameters of a template as a deployment would see them: the given values, else the defaults. */
export function parameterValues(template: { parameters?: Record<string, TemplateParameter> }, given: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(template.parameters ?? {})) {
    if (name in given) values[name] = given[name];
    else if ('defaultValue' in definition) values[name] = evaluate(definition.defaultValue, { parameters: values, variables: {} });
  }
  return values;
}
