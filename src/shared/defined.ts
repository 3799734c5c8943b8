/**
 * The fields whose value is not undefined, to spread into an object whose optional properties are absent rather
 * than undefined: `{ id, ...definedOnly({ lastError: error }) }`.
 */
export function definedOnly<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
