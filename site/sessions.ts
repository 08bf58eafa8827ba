// Browser sessions after a successful SCRAM login: a random token in an HttpOnly cookie. The
// table is keyed by the token's SHA-256, so looking a token up never compares secret bytes in
// variable time, and it is bounded like every table the network can grow.
import { createHash, randomBytes } from 'node:crypto';
import { ExpiringMap } from '../node/expiring-map.ts';

export const SESSION_COOKIE = 'allium_session';
export const SESSION_TTL_MS = 60 * 60 * 1000;
export const MAX_SESSIONS = 10_000;

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

export class Sessions {
  private readonly users = new ExpiringMap<string, string>(MAX_SESSIONS);

  /** Opens a session for `user` and returns its token. */
  create(user: string, now = Date.now()): string {
    const token = randomBytes(32).toString('base64url');
    this.users.set(digest(token), user, now + SESSION_TTL_MS);
    return token;
  }

  user(token: string, now = Date.now()): string | undefined {
    return this.users.get(digest(token), now);
  }
}

/** The Set-Cookie value: HttpOnly (no script reads it), SameSite=Strict (no cross-site use), Secure over TLS. */
export function sessionCookie(token: string, secure: boolean): string {
  const attributes = [`${SESSION_COOKIE}=${token}`, 'Path=/', `Max-Age=${SESSION_TTL_MS / 1000}`, 'HttpOnly', 'SameSite=Strict'];
  if (secure) attributes.push('Secure');
  return attributes.join('; ');
}

/** Finds our cookie in a Cookie header; anything malformed simply is not a session. */
export function sessionToken(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined || cookieHeader.length > 8192) return undefined;
  for (const pair of cookieHeader.split(';')) {
    const [name, value] = pair.trim().split('=', 2);
    if (name === SESSION_COOKIE && value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  }
  return undefined;
}
