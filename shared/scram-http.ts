// HTTP authentication headers as RFC 7804 uses them: challenges and credentials (RFC 7235 §2.1)
// made of a scheme and comma-separated auth-params, values as tokens or quoted-strings. RFC 7804's
// own examples send base64 `data` unquoted, so bare values also accept '/' and trailing '='.
import { ScramSyntaxError } from './scram-messages.ts';

export const SCRAM_SCHEME = 'SCRAM-SHA-256';

/** Longer headers are refused before parsing; a full SCRAM exchange needs well under 1 KiB. */
export const MAX_HEADER_LENGTH = 8192;

export interface AuthChallenge {
  /** As sent; compare case-insensitively (RFC 7235 §2.1). */
  scheme: string;
  /** Parameter names lower-cased; each name at most once. */
  params: Map<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const BARE_VALUE = /[!#$%&'*+\-.^_`|~0-9A-Za-z/]+=*/y;
const TOKEN68 = /[-._~+/0-9A-Za-z]+=*/y;
const WHITESPACE = /[ \t]*/y;
// qdtext and quoted-pair (RFC 9110 §5.6.4), obs-text included.
const QUOTED = /"((?:[\t \x21\x23-\x5B\x5D-\x7E\x80-\xFF]|\\[\t \x21-\x7E\x80-\xFF])*)"/y;

class Reader {
  position = 0;
  readonly text: string;
  constructor(text: string) {
    if (text.length > MAX_HEADER_LENGTH) throw new ScramSyntaxError('header too long');
    this.text = text;
  }
  match(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.position;
    const found = pattern.exec(this.text);
    if (!found) return undefined;
    this.position = pattern.lastIndex;
    return found[0];
  }
  skipWhitespace(): void {
    this.match(WHITESPACE);
  }
  peek(): string | undefined {
    return this.text[this.position];
  }
  atEnd(): boolean {
    return this.position >= this.text.length;
  }
  /** Skips OWS, commas and OWS: empty list elements are allowed (RFC 9110 §5.6.1). */
  skipSeparators(): boolean {
    let sawComma = false;
    for (;;) {
      this.skipWhitespace();
      if (this.peek() !== ',') return sawComma;
      this.position++;
      sawComma = true;
    }
  }
}

function readValue(reader: Reader): string {
  if (reader.peek() === '"') {
    QUOTED.lastIndex = reader.position;
    const found = QUOTED.exec(reader.text);
    if (!found) throw new ScramSyntaxError('unterminated or invalid quoted-string');
    reader.position = QUOTED.lastIndex;
    return found[1].replace(/\\(.)/g, '$1');
  }
  const bare = reader.match(BARE_VALUE);
  if (bare === undefined) throw new ScramSyntaxError('missing parameter value');
  return bare;
}

/**
 * Reads `name = value` at the reader's position, or returns undefined (position unchanged) when
 * what follows is not a parameter — i.e. it is the next challenge's scheme.
 */
function readParam(reader: Reader): [string, string] | undefined {
  const start = reader.position;
  const name = reader.match(TOKEN);
  if (name === undefined) throw new ScramSyntaxError('expected a parameter name');
  reader.skipWhitespace();
  if (reader.peek() !== '=') {
    reader.position = start;
    return undefined;
  }
  reader.position++;
  reader.skipWhitespace();
  return [name.toLowerCase(), readValue(reader)];
}

function readChallenge(reader: Reader): AuthChallenge {
  const scheme = reader.match(TOKEN);
  if (scheme === undefined) throw new ScramSyntaxError('expected an authentication scheme');
  const params = new Map<string, string>();
  const afterScheme = reader.position;
  reader.skipWhitespace();
  if (reader.atEnd() || reader.peek() === ',') return { scheme, params };
  if (reader.position === afterScheme) throw new ScramSyntaxError('expected a space after the scheme');
  // A token68 form (e.g. Basic credentials) carries no parameters: read and ignore it.
  const beforeToken68 = reader.position;
  if (reader.match(TOKEN68) !== undefined) {
    reader.skipWhitespace();
    if (reader.atEnd() || reader.peek() === ',') return { scheme, params };
    reader.position = beforeToken68;
  }
  for (;;) {
    const param = readParam(reader);
    if (param === undefined) break;
    if (params.has(param[0])) throw new ScramSyntaxError(`parameter "${param[0]}" given twice`);
    params.set(param[0], param[1]);
    if (!reader.skipSeparators() || reader.atEnd()) break;
  }
  return { scheme, params };
}

/** Parses a WWW-Authenticate value, which may hold several challenges (several schemes). */
export function parseChallenges(header: string): AuthChallenge[] {
  const reader = new Reader(header);
  const challenges: AuthChallenge[] = [];
  reader.skipSeparators();
  while (!reader.atEnd()) {
    challenges.push(readChallenge(reader));
    reader.skipSeparators();
  }
  return challenges;
}

/** Parses an Authorization value: exactly one scheme and its parameters. */
export function parseCredentials(header: string): AuthChallenge {
  const challenges = parseChallenges(header);
  if (challenges.length !== 1) throw new ScramSyntaxError('expected exactly one set of credentials');
  return challenges[0];
}

/** Parses an Authentication-Info value (RFC 9110 §11.6.3): parameters without a scheme. */
export function parseAuthParams(header: string): Map<string, string> {
  return parseChallenges(`${SCRAM_SCHEME} ${header}`)[0].params;
}

/** Formats parameters; realm is always quoted (RFC 7235 §2.2), others only when they must be. */
export function formatAuthParams(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([name, value]) => {
      BARE_VALUE.lastIndex = 0;
      const bare = BARE_VALUE.exec(value)?.[0] === value;
      return name === 'realm' || !bare ? `${name}="${value.replace(/["\\]/g, '\\$&')}"` : `${name}=${value}`;
    })
    .join(', ');
}

export function formatChallenge(scheme: string, params: Record<string, string>): string {
  return `${scheme} ${formatAuthParams(params)}`;
}
