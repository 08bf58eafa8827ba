// HTTP exchanges over a circuit with headers exactly as given and as received. Browsers guard the
// Fetch API's objects: `new Request()` silently drops "forbidden" request headers (Cookie, Origin,
// Referer, Sec-Fetch-*) and `new Response()` drops Set-Cookie. A client that forwards a page's own
// requests and keeps that page's cookies itself (the browser extension) needs both untouched, so
// this is `AlliumClient.fetch` one level down: no Request, no Response, no redirects followed.
import { decodeResponseHead, encodeRequestHead, HeadCollector, type ResponseHead } from '../fetch-codec.ts';
import { isTpdpError, TpdpError } from '../errors.ts';
import type { CircuitStream } from '../stream.ts';
import { toByteStream } from './byte-stream.ts';
import type { AlliumClient, StreamOptions } from './client.ts';
import type { EncodedRequest } from './fetch-over-stream.ts';
import { isPrivateDestination } from './path.ts';

export type RawRequest = EncodedRequest;

export interface RawResponse extends ResponseHead {
  /** null for HEAD requests and for 204, 205 and 304. */
  body: ReadableStream<Uint8Array> | null;
}

const NULL_BODY_STATUS = new Set([204, 205, 304]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Failures of the path, not of the destination: a new circuit may well succeed. */
const CIRCUIT_FAILURES = new Set(['LINK_CLOSED', 'RELAY_SHUTDOWN', 'HOP_UNREACHABLE', 'INTEGRITY_ERROR', 'PROTOCOL_ERROR', 'TIMEOUT_ERROR']);
/** The exit frames the body itself; these would contradict or duplicate its framing. */
const FRAMING = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);

/**
 * One request on the key's circuit (built if needed); an idempotent request that fails with the
 * circuit is retried once on a new circuit, as `AlliumClient.fetch` does.
 */
export async function rawExchange(client: AlliumClient, request: RawRequest, options: StreamOptions = {}): Promise<RawResponse> {
  const headers = request.headers.filter(([name]) => !FRAMING.has(name.toLowerCase()));
  if (request.body) headers.push(['content-length', String(request.body.length)]);
  const framed = { ...request, headers };
  const key = options.isolationKey;
  const allowPrivate = isPrivateDestination(new URL(request.url).hostname);
  for (let attempt = 1; ; attempt++) {
    const managed = await client.prepareCircuit(key, allowPrivate);
    try {
      const stream = await managed.circuit.openStream({ kind: 'fetch' });
      return await exchangeOverStream(stream, framed, options.signal);
    } catch (err) {
      const retry = attempt === 1 && IDEMPOTENT.has(request.method) && isTpdpError(err) && CIRCUIT_FAILURES.has(err.code) && !options.signal?.aborted;
      if (!retry) throw err;
      if (managed.circuit.state === 'open') managed.circuit.destroy(err.code);
    }
  }
}

/** Sends the request on a fetch stream and resolves once the response head has arrived. */
export async function exchangeOverStream(stream: CircuitStream, request: RawRequest, signal?: AbortSignal | null): Promise<RawResponse> {
  const { readable, writable } = toByteStream(stream);
  const abort = () => stream.close('DONE');
  signal?.addEventListener('abort', abort, { once: true });
  const writer = writable.getWriter();
  await writer.write(encodeRequestHead(request));
  if (request.body && request.body.length > 0) await writer.write(request.body);
  await writer.close();

  const reader = readable.getReader();
  const collector = new HeadCollector();
  let head: ResponseHead | undefined;
  let rest: Uint8Array = new Uint8Array(0);
  try {
    while (!head) {
      const { done, value } = await reader.read();
      if (done) throw new TpdpError('PROTOCOL_ERROR', 'the exit closed the stream before sending a response');
      const complete = collector.push(value);
      if (complete) {
        head = decodeResponseHead(complete.head);
        rest = complete.rest;
      }
    }
  } catch (err) {
    signal?.removeEventListener('abort', abort);
    stream.close('DONE');
    throw err;
  }

  if (request.method === 'HEAD' || NULL_BODY_STATUS.has(head.status)) {
    stream.close('DONE');
    signal?.removeEventListener('abort', abort);
    return { ...head, body: null };
  }
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (rest.length > 0) controller.enqueue(rest);
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            signal?.removeEventListener('abort', abort);
            controller.close();
          } else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
        }
      },
      cancel() {
        stream.close('DONE');
      },
    },
    { highWaterMark: 0 },
  );
  return { ...head, body };
}
