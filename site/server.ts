// `allium site`: the authentication server and demo site in one Node HTTP(S) server. Pages are
// public; GET /secret needs SCRAM-SHA-256 HTTP authentication (RFC 7804) or the session cookie a
// successful exchange sets. Every answer to the network is a clean status code, never a crash.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createLogger, errorMessage, type Logger } from '../node/log.ts';
import { webCryptoScram, type ScramCrypto } from '../shared/scram-crypto.ts';
import { SCRAM_SCHEME, formatAuthParams, formatChallenge } from '../shared/scram-http.ts';
import { browserModules } from './browser-modules.ts';
import { SOURCE_ROOT } from './source-root.ts';
import {
  CONTENT_SECURITY_POLICY,
  LOGIN_SCRIPT,
  indexPage,
  loginPage,
  needLoginPage,
  notFoundPage,
  secretPage,
  type Arrival,
} from './pages.ts';
import { normalizeAddress, sourceKey } from '../node/peer-address.ts';
import { ScramAuthenticator, type AuthOutcome, type RateLimits } from './scram-server.ts';
import { Sessions, sessionCookie, sessionToken } from './sessions.ts';
import { DEFAULT_ITERATIONS, openUserStore } from './users.ts';

export const DEFAULT_REALM = 'allium';
export const DEFAULT_SECRET = 'The onion has layers, and so does your privacy.';

export interface SiteOptions {
  /** SQLite file holding the accounts; created on first run. */
  db: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The protected text /secret reveals. */
  secret?: string;
  realm?: string;
  /** Iteration count shown for unknown names; set it to the count accounts were created with. */
  iterations?: number;
  /** Outbound addresses of Allium relays (see site/exit-addresses.ts); without it, / cannot tell. */
  exitAddresses?: () => Promise<Set<string>>;
  /** Serve HTTPS; the session cookie is then marked Secure. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  crypto?: ScramCrypto;
  nonceTtlMs?: number;
  rateLimits?: RateLimits;
  logger?: Logger;
}

export interface RunningSite {
  url: string;
  close(): Promise<void>;
}

type Headers = Record<string, string>;

const SECURITY_HEADERS: Headers = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};
const HTML = 'text/html; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';
const STYLESHEET = readFileSync(join(SOURCE_ROOT, 'site', 'static', 'style.css'), 'utf8');

function send(res: ServerResponse, status: number, type: string, body: string, headers: Headers = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

export async function startSite(options: SiteOptions): Promise<RunningSite> {
  const log = options.logger ?? createLogger('site');
  const users = openUserStore(options.db);
  const secret = options.secret ?? DEFAULT_SECRET;
  const realmChallenge = formatChallenge(SCRAM_SCHEME, { realm: options.realm ?? DEFAULT_REALM });
  const authenticator = new ScramAuthenticator({
    users,
    crypto: options.crypto ?? webCryptoScram(globalThis.crypto),
    iterations: options.iterations ?? DEFAULT_ITERATIONS,
    nonceTtlMs: options.nonceTtlMs,
    limits: options.rateLimits,
  });
  const sessions = new Sessions();
  const scripts = browserModules(LOGIN_SCRIPT);

  async function arrival(peer: string): Promise<Arrival> {
    if (!options.exitAddresses) return 'unknown';
    try {
      return (await options.exitAddresses()).has(peer) ? 'allium' : 'direct';
    } catch (err) {
      log.warn('could not read the relay list', { error: errorMessage(err) });
      return 'unknown';
    }
  }

  /** Logs a login with where it came from; the relay-list lookup never delays the answer. */
  function logLogin(level: 'info' | 'warn', message: string, peer: string, fields: Record<string, unknown>): void {
    void arrival(peer).then((from) => log[level](message, { ...fields, peer, arrival: from }));
  }

  /** 401 with the scheme offered: what a client without (valid) credentials gets. */
  function askToLogIn(req: IncomingMessage, res: ServerResponse): void {
    const headers = { 'www-authenticate': realmChallenge, 'cache-control': 'no-store' };
    if (wantsHtml(req)) send(res, 401, HTML, needLoginPage(), headers);
    else send(res, 401, TEXT, 'SCRAM-SHA-256 authentication required\n', headers);
  }

  function answer(outcome: AuthOutcome, req: IncomingMessage, res: ServerResponse, peer: string): void {
    switch (outcome.kind) {
      case 'challenge':
        return askToLogIn(req, res);
      case 'server-first':
        return send(res, 401, TEXT, 'continue the SCRAM exchange\n', {
          'www-authenticate': formatChallenge(SCRAM_SCHEME, { sid: outcome.sid, data: outcome.data }),
          'cache-control': 'no-store',
        });
      case 'success': {
        logLogin('info', 'login succeeded', peer, { user: outcome.user });
        const secure = (req.socket as TLSSocket).encrypted === true;
        return send(res, 200, TEXT, secret, {
          'authentication-info': formatAuthParams({ sid: outcome.sid, data: outcome.data }),
          'set-cookie': sessionCookie(sessions.create(outcome.user), secure),
          'cache-control': 'no-store',
        });
      }
      case 'failure':
        logLogin('warn', 'login failed', peer, { user: outcome.user, reason: outcome.reason });
        return askToLogIn(req, res);
      case 'malformed':
        log.debug('malformed SCRAM credentials', { peer, reason: outcome.reason });
        return send(res, 400, TEXT, `bad SCRAM credentials: ${outcome.reason}\n`, { 'cache-control': 'no-store' });
      case 'limited':
        log.warn('login attempts rate-limited', { peer, retryAfter: outcome.retryAfterSeconds });
        return send(res, 429, TEXT, 'too many login attempts, retry later\n', {
          'retry-after': String(outcome.retryAfterSeconds),
          'cache-control': 'no-store',
        });
    }
  }

  async function secretRoute(req: IncomingMessage, res: ServerResponse, peer: string): Promise<void> {
    const authorization = req.headers.authorization;
    // Credentials take precedence over the cookie: a client sending them wants the server's proof.
    if (authorization === undefined) {
      const token = sessionToken(req.headers.cookie);
      const user = token === undefined ? undefined : sessions.user(token);
      if (user !== undefined) {
        const headers = { 'cache-control': 'no-store', vary: 'Accept, Cookie, Authorization' };
        if (wantsHtml(req)) return send(res, 200, HTML, secretPage(user, secret), headers);
        return send(res, 200, TEXT, secret, headers);
      }
    }
    return answer(await authenticator.authenticate(authorization, sourceKey(peer)), req, res, peer);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peer = normalizeAddress(req.socket.remoteAddress ?? '');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, TEXT, 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://site').pathname;
    } catch {
      return send(res, 400, TEXT, 'bad request target\n');
    }
    if (path === '/') return send(res, 200, HTML, indexPage(peer, await arrival(peer)), { 'cache-control': 'no-store' });
    if (path === '/login') return send(res, 200, HTML, loginPage());
    if (path === '/secret') return secretRoute(req, res, peer);
    if (path === '/style.css') return send(res, 200, 'text/css; charset=utf-8', STYLESHEET);
    const script = path.startsWith('/js/') ? scripts.get(path.slice(4)) : undefined;
    if (script !== undefined) return send(res, 200, 'text/javascript; charset=utf-8', script);
    return send(res, 404, HTML, notFoundPage());
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((err) => {
      log.error('request failed', { path: req.url, error: errorMessage(err) });
      if (!res.headersSent) send(res, 500, TEXT, 'internal error\n');
      else res.destroy();
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    users.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('site listening', { url, db: options.db });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          users.close();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
