// A `fetch` stream at the exit (docs/TPDP.md §6.2): read the request head, check the URL and the
// policy, perform the request over a fresh connection (never shared between circuits, so a
// destination cannot link two circuits by their connection), stream the response back.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { decodeRequestHead, encodeResponseHead, HeadCollector, type RequestHead } from '../shared/fetch-codec.ts';
import { isTpdpError, TpdpError } from '../shared/errors.ts';
import type { CircuitStream } from '../shared/stream.ts';
import type { Logger } from '../node/log.ts';
import { feedStream, localAddressFor, type ExitContext } from './exit-connect.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'http2-settings']);
const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const RESPONSE_TIMEOUT_MS = 30_000;

function forwardable(headers: [string, string][]): [string, string][] {
  const listed = new Set(
    headers.filter(([n]) => n.toLowerCase() === 'connection').flatMap(([, v]) => v.split(',').map((s) => s.trim().toLowerCase())),
  );
  return headers.filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase()) && !listed.has(name.toLowerCase()));
}

function checkedUrl(head: RequestHead): URL {
  let url: URL;
  try {
    url = new URL(head.url);
  } catch {
    throw new TpdpError('PROTOCOL_ERROR', 'fetch URL does not parse');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TpdpError('EXIT_POLICY_REFUSED', `the exit only fetches http: and https: URLs, not ${url.protocol}`);
  if (REFUSED_METHODS.has(head.method.toUpperCase())) throw new TpdpError('EXIT_POLICY_REFUSED', `method ${head.method} is not carried by fetch streams`);
  return url;
}

/** A lookup that only ever answers the address the policy already checked (no second query). */
function fixedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as any)(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

export function serveFetch(context: ExitContext, stream: CircuitStream, log: Logger): void {
  const collector = new HeadCollector();
  let request: http.ClientRequest | undefined;
  // Body bytes that arrive while the destination is being resolved and checked: `rest` shared the
  // head's last cell (already acknowledged), `chunks` came in cells of their own.
  let early: { rest: Uint8Array; chunks: Uint8Array[]; finished: boolean } | undefined;
  let answered = false;
  const fail = (err: unknown) => {
    const code = isTpdpError(err) ? err.code : 'DESTINATION_CONNECTION_ERROR';
    log.debug('exit fetch failed', { reason: code, error: (err as Error).message });
    request?.destroy();
    stream.close(code, (err as Error).message);
  };

  stream.onData = (chunk) => {
    if (request) {
      request.write(chunk, () => stream.consumed());
      return;
    }
    if (early) {
      early.chunks.push(chunk);
      return;
    }
    let complete;
    try {
      complete = collector.push(chunk);
      stream.consumed();
      if (!complete) return;
      const head = decodeRequestHead(complete.head);
      early = { rest: complete.rest.slice(), chunks: [], finished: false };
      start(head).then((req) => {
        if (stream.state === 'closed') return req.destroy();
        request = req;
        if (early!.rest.length > 0) req.write(early!.rest);
        for (const body of early!.chunks) req.write(body, () => stream.consumed());
        if (early!.finished) req.end();
      }, fail);
    } catch (err) {
      fail(err);
    }
  };
  stream.onFinish = () => {
    if (request) request.end();
    else if (early) early.finished = true;
    else fail(new TpdpError('PROTOCOL_ERROR', 'fetch stream finished before a complete request head'));
  };
  stream.onClose = () => request?.destroy();

  const start = async (head: RequestHead): Promise<http.ClientRequest> => {
    const url = checkedUrl(head);
    log.debug('exit fetch', { method: head.method, destination: url.href });
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    context.policy.checkPort(url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port));
    // The policy runs here, for names and IP literals alike (Node skips `lookup` for literals),
    // and the connection goes to exactly the address it checked.
    const { address, family } = await context.policy.resolve(hostname);
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request({
      protocol: url.protocol,
      hostname,
      port: url.port || undefined,
      path: url.pathname + url.search,
      method: head.method,
      // Raw pairs keep the client's header order and case; Node adds no Host to raw headers.
      headers: [['host', url.host], ...forwardable(head.headers)].flat() as unknown as http.OutgoingHttpHeaders,
      lookup: fixedLookup(address, family),
      localAddress: localAddressFor(context, family),
      agent: false,
      timeout: RESPONSE_TIMEOUT_MS,
    });
    req.on('timeout', () => req.destroy(new TpdpError('TIMEOUT_ERROR', `no response from ${url.host} within ${RESPONSE_TIMEOUT_MS} ms`)));
    req.on('error', (err) => {
      if (answered) stream.close('DESTINATION_CONNECTION_ERROR', err.message);
      else fail(isTpdpError(err) ? err : new TpdpError('DESTINATION_CONNECTION_ERROR', `request to ${url.host} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    req.on('response', (res) => {
      answered = true;
      const raw = res.rawHeaders;
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i], raw[i + 1]]);
      try {
        stream.write(encodeResponseHead({ status: res.statusCode ?? 502, statusText: (res.statusMessage ?? '').replace(/[^\t\x20-\x7e]/g, '?').slice(0, 255), headers: forwardable(headers) }));
      } catch (err) {
        return fail(err);
      }
      feedStream(res, stream, context.bandwidth);
      res.on('end', () => stream.finish());
      res.on('error', () => stream.close('DESTINATION_CONNECTION_ERROR'));
    });
    return req;
  };
  stream.accept();
}
