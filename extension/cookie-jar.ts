// One anonymous tab's cookies, kept by the extension (RFC 6265 §5). The browser's own cookie store
// is shared by every tab, so an anonymous tab must neither read it nor write to it: its responses'
// Set-Cookie headers land here and its requests get their Cookie header from here.
// Left out on purpose: the public suffix list (a Domain attribute must name the host or a parent
// with at least one dot) and SameSite (every request of the tab is treated as same-site).

export interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  /** Sent to `domain` only, not to its subdomains (no Domain attribute). */
  hostOnly: boolean;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  /** Milliseconds since the epoch; absent for a session cookie. */
  expires?: number;
  created: number;
}

const MAX_COOKIE_BYTES = 4096;
const MAX_COOKIES = 1000;

export class CookieJar {
  private cookies: StoredCookie[];

  constructor(cookies: StoredCookie[] = []) {
    this.cookies = cookies;
  }

  /** Stores the Set-Cookie headers of a response to `url`; returns whether anything changed. */
  store(url: string, setCookies: string[], now = Date.now()): boolean {
    const target = new URL(url);
    let changed = false;
    for (const header of setCookies) {
      const cookie = parseSetCookie(header, target, now);
      if (!cookie) continue;
      const index = this.cookies.findIndex((c) => c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path);
      const existing = index >= 0 ? this.cookies[index] : undefined;
      // An HttpOnly cookie is only replaced from HTTP, which is all this jar hears; keep its age.
      if (existing) {
        cookie.created = existing.created;
        this.cookies.splice(index, 1);
      }
      if (cookie.expires === undefined || cookie.expires > now) this.cookies.push(cookie);
      changed = true;
    }
    if (this.cookies.length > MAX_COOKIES) this.cookies.splice(0, this.cookies.length - MAX_COOKIES);
    return changed;
  }

  /** The Cookie header for a request to `url`, or undefined when no cookie matches. */
  header(url: string, now = Date.now()): string | undefined {
    const target = new URL(url);
    const host = canonicalHost(target.hostname);
    this.cookies = this.cookies.filter((c) => c.expires === undefined || c.expires > now);
    const matching = this.cookies
      .filter((c) => (c.hostOnly ? host === c.domain : domainMatches(host, c.domain)))
      .filter((c) => pathMatches(target.pathname || '/', c.path))
      .filter((c) => !c.secure || isSecure(target))
      // Longer paths first, then older cookies first (§5.4 step 2).
      .sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    if (matching.length === 0) return undefined;
    return matching.map((c) => (c.name === '' ? c.value : `${c.name}=${c.value}`)).join('; ');
  }

  toJSON(): StoredCookie[] {
    return this.cookies;
  }
}

/** §5.2, with the storage model's checks of §5.3; undefined for a cookie that must be ignored. */
export function parseSetCookie(header: string, url: URL, now: number): StoredCookie | undefined {
  if (header.length > MAX_COOKIE_BYTES || /[\x00-\x08\x0a-\x1f\x7f]/.test(header)) return undefined;
  const [pair, ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  const name = eq < 0 ? '' : pair.slice(0, eq).trim();
  const value = (eq < 0 ? pair : pair.slice(eq + 1)).trim();
  if (name === '' && value === '') return undefined;
  const host = canonicalHost(url.hostname);
  const cookie: StoredCookie = { name, value, domain: host, hostOnly: true, path: defaultPath(url), secure: false, httpOnly: false, created: now };
  let maxAge: number | undefined;
  let expires: number | undefined;
  for (const attribute of attributes) {
    const at = attribute.indexOf('=');
    const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
    const arg = at < 0 ? '' : attribute.slice(at + 1).trim();
    if (key === 'max-age' && /^-?\d+$/.test(arg)) maxAge = Number(arg) <= 0 ? -Infinity : Number(arg) * 1000;
    else if (key === 'expires' && !Number.isNaN(Date.parse(arg))) expires = Date.parse(arg);
    else if (key === 'domain' && arg !== '') {
      const domain = canonicalHost(arg.replace(/^\./, ''));
      if (domain !== host) {
        // A parent domain must be a real one (not a bare TLD), and the host must be inside it.
        if (!domain.includes('.') || !domainMatches(host, domain) || isIpAddress(host)) return undefined;
        cookie.domain = domain;
        cookie.hostOnly = false;
      }
    } else if (key === 'path') cookie.path = arg.startsWith('/') ? arg : defaultPath(url);
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'httponly') cookie.httpOnly = true;
  }
  if (cookie.secure && !isSecure(url)) return undefined;
  // Max-Age wins over Expires (§5.3 step 3).
  if (maxAge !== undefined) cookie.expires = maxAge === -Infinity ? now - 1 : now + maxAge;
  else if (expires !== undefined) cookie.expires = expires;
  return cookie;
}

function canonicalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

function isIpAddress(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[') || host.includes(':');
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith('.' + domain) && !isIpAddress(host));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** §5.1.4: the directory of the request path. */
function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/')) return '/';
  const last = path.lastIndexOf('/');
  return last <= 0 ? '/' : path.slice(0, last);
}

/** Browsers count loopback as a secure context, so Secure cookies work on local test servers. */
function isSecure(url: URL): boolean {
  return url.protocol === 'https:' || url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}
