import { z } from 'zod';
import { invalidParameter } from '../shared/errors.js';

const pathOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');

/** Maps a field's path as the schema knows it to the name the caller sent it under (e.g. a CloudEvent's `data.version`). */
export type FieldNamer = (field: string) => string;

/** The first problem, worded as `'<field>' <what is wrong>`, so the message always names the field. */
export function describeIssue(issue: z.core.$ZodIssue, nameOf: FieldNamer = (field) => field): string {
  const path = pathOf(issue.path);
  const field = path ? nameOf(path) : path;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return `Unknown parameter '${nameOf(path ? `${path}.${key}` : key)}'`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `Missing required parameter '${field}'`;
  if (issue.code === 'invalid_type' && issue.input === null) return `Invalid parameter '${field || 'body'}': null is not allowed; omit the field instead`;
  return `Invalid parameter '${field || 'body'}': ${issue.message}`;
}

/** Validates input at the edge; anything invalid becomes INVALID_PARAMETER_VALUE naming the field. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, nameOf?: FieldNamer): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw invalidParameter(issue ? describeIssue(issue, nameOf) : 'Invalid request');
}
