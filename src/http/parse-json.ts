/**
 * A strict JSON parser for request bodies, as `JSON.parse` keeps the last duplicate key, rounds integers past 2^53 and
 * accepts lone surrogates: here those are errors or bigints, nesting is bounded and objects have no prototype.
 */
export class JsonSyntaxError extends Error {
  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.name = 'JsonSyntaxError';
  }
}

/** Bytes that are not UTF-8, so cannot be JSON text. */
export class NotUtf8Error extends Error {
  constructor() {
    super('not valid UTF-8');
    this.name = 'NotUtf8Error';
  }
}

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = 32;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

export function parseJson(text: string): JsonValue {
  let pos = 0;

  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, pos);
  };
  const skipWhitespace = () => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
  };
  const expectWord = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail('unexpected token');
  };

  const parseString = (): string => {
    pos += 1; // opening quote
    let out = '';
    for (;;) {
      const char = text[pos];
      if (char === undefined) return fail('unterminated string');
      if (char === '"') {
        pos += 1;
        break;
      }
      if (char === '\\') {
        const next = text[pos + 1] ?? '';
        if (next === 'u') {
          const hex = text.slice(pos + 2, pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) return fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 6;
        } else {
          const escaped = ESCAPES[next];
          if (escaped === undefined) return fail('bad escape');
          out += escaped;
          pos += 2;
        }
        continue;
      }
      if (char < ' ') return fail('control character in string');
      out += char;
      pos += 1;
    }
    if (/[\uD800-\uDFFF]/u.test(out)) return fail('unpaired surrogate in string');
    return out;
  };

  const parseNumber = (): number | bigint => {
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (!match) return fail('unexpected token');
    pos = NUMBER.lastIndex;
    const literal = match[0];
    const value = Number(literal);
    if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(value)) return BigInt(literal);
    if (!Number.isFinite(value)) return fail('number out of range');
    return value;
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) return fail(`nesting deeper than ${MAX_DEPTH}`);
    skipWhitespace();
    const char = text[pos];
    if (char === '{') {
      pos += 1;
      const object = Object.create(null) as Record<string, JsonValue>;
      skipWhitespace();
      if (text[pos] === '}') {
        pos += 1;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] !== '"') return fail('expected a key');
        const key = parseString();
        if (Object.prototype.hasOwnProperty.call(object, key)) return fail(`duplicate key '${key}'`);
        skipWhitespace();
        if (text[pos] !== ':') return fail("expected ':'");
        pos += 1;
        object[key] = parseValue(depth + 1);
        skipWhitespace();
        if (text[pos] === ',') {
          pos += 1;
          continue;
        }
        if (text[pos] === '}') {
          pos += 1;
          return object;
        }
        return fail("expected ',' or '}'");
      }
    }
    if (char === '[') {
      pos += 1;
      const array: JsonValue[] = [];
      skipWhitespace();
      if (text[pos] === ']') {
        pos += 1;
        return array;
      }
      for (;;) {
        array.push(parseValue(depth + 1));
        skipWhitespace();
        if (text[pos] === ',') {
          pos += 1;
          continue;
        }
        if (text[pos] === ']') {
          pos += 1;
          return array;
        }
        return fail("expected ',' or ']'");
      }
    }
    if (char === '"') return parseString();
    if (char === 't') return expectWord('true', true);
    if (char === 'f') return expectWord('false', false);
    if (char === 'n') return expectWord('null', null);
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return parseNumber();
    return fail(char === undefined ? 'unexpected end of input' : 'unexpected token');
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos !== text.length) fail('unexpected data after the JSON value');
  return value;
}

/**
 * Bytes as strict JSON, or undefined when they hold nothing but whitespace. Throws NotUtf8Error or JsonSyntaxError,
 * which each reader words for what it read (a request body, a queue message).
 */
export function parseJsonUtf8(bytes: Uint8Array): JsonValue | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new NotUtf8Error();
  }
  return text.trim() === '' ? undefined : parseJson(text);
}
