// fetch() over node:http and node:https for the Node processes that talk to pools (relays and the
// client commands): the global fetch takes no per-call CA, so it cannot trust a certificate pinned
// with --ca, and it reports TLS failures as a bare "fetch failed". Only what those callers use is
// supported — a URL, method, headers, a string or byte body, a signal — and redirects are not
// followed (a pool never redirects; an answer such as 301 is the caller's to report). The body is
// streamed, so the callers' size bounds and timeouts (their signals) apply as with fetch.
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { trustedCertificates, untrustedCertificateMessage } from './tls-trust.ts';

export interface NodeFetchOptions {
  /** PEM certificates trusted on top of the system's (--ca). */
  ca?: readonly string[];
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

export function nodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const httpsAgent = options.ca ? new https.Agent({ keepAlive: true, ca: trustedCertificates(options.ca) }) : https.globalAgent;
  return async (input, init = {}) => {
    if (input instanceof Request) throw new TypeError('nodeFetch takes a URL, not a Request');
    const url = new URL(input);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`nodeFetch: unsupported URL scheme ${url.protocol}`);
    const body = init.body ?? undefined;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) throw new TypeError('nodeFetch: the body must be a string or bytes');
    const method = (init.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers));
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    return new Promise<Response>((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const request = (secure ? https : http).request(url, { method, headers, signal, agent: secure ? httpsAgent : http.globalAgent });
      request.once('error', (err) => {
        if (signal?.aborted) return reject(signal.reason);
        const untrusted = untrustedCertificateMessage(err, url.host);
        reject(untrusted === undefined ? err : new Error(untrusted));
      });
      request.once('response', (res) => {
        try {
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          const status = res.statusCode ?? 0;
          const empty = method === 'HEAD' || NULL_BODY_STATUSES.has(status);
          if (empty) res.resume();
          resolve(
            new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers: responseHeaders }),
          );
        } catch (err) {
          // An out-of-range status or a header value that Headers refuses.
          res.destroy();
          reject(new Error(`${url.host} sent an invalid HTTP response: ${(err as Error).message}`));
        }
      });
      request.end(body);
    });
  };
}
