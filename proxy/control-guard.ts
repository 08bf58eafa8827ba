// Who may use the control endpoint: the extension (or a local program) holding the token, never a
// web page. Browsers let any page send requests to 127.0.0.1, so every request is checked before
// it is routed, in this order:
// - no CORS at all: a preflight (OPTIONS) is refused and no response carries Access-Control-*
//   headers, so a page can neither send the Authorization header nor read an answer;
// - a request that names a web origin (Origin: http(s)://…, or "null" from sandboxed pages and
//   redirects) is refused even with the token: only extension origins or none are accepted;
// - the Host header must name the loopback listener itself, which defeats DNS rebinding (a page
//   whose own name resolves to 127.0.0.1 sends its own name as Host);
// - the bearer token, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

const EXTENSION_ORIGIN = /^(moz-extension|chrome-extension):\/\/[0-9a-z-]+$/i;
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function controlRefusal(method: string | undefined, headers: IncomingHttpHeaders, port: number, token: string): Refusal | undefined {
  if (method === 'OPTIONS' || headers['access-control-request-method'] !== undefined) {
    return { status: 405, message: 'no cross-origin requests', headers: { allow: 'GET, POST' } };
  }
  const origin = headers.origin;
  if (origin !== undefined && !EXTENSION_ORIGIN.test(origin)) return { status: 403, message: 'web pages may not use the control endpoint' };
  if (!LOOPBACK_NAMES.some((name) => headers.host === `${name}:${port}`)) return { status: 403, message: 'the Host header must name the loopback control address' };
  if (!bearerMatches(headers.authorization, token)) {
    return { status: 401, message: 'a valid "Authorization: Bearer <token>" header is required', headers: { 'www-authenticate': 'Bearer realm="allium-proxy"' } };
  }
  return undefined;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header ?? '')?.[1];
  if (given === undefined) return false;
  // Digests have one length whatever was sent, so the comparison leaks neither bytes nor length.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token));
}
