// One HTTP exchange on a `fetch` stream (docs/TPDP.md §6.2): the exit performs the request; this
// side sends the encoded request and reads the response head, then streams the body as it comes.
// The raw form keeps headers exactly as sent and received: browsers' Request and Response drop
// "forbidden" headers (Cookie, Origin, Set-Cookie…) that the extension must carry itself.
import { decodeResponseHead, encodeRequestHead, HeadCollector, type ResponseHead } from '../fetch-codec.ts';
import { TpdpError } from '../errors.ts';
import type { CircuitStream } from '../stream.ts';
import { toByteStream } from './byte-stream.ts';

const NULL_BODY_STATUS = new Set([204, 205, 304]);

export interface EncodedRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
}

export interface RawResponse extends ResponseHead {
  /** null for HEAD requests and for 204, 205 and 304. */
  body: ReadableStream<Uint8Array> | null;
}

/** Sends the request and resolves once the response head has arrived. */
export async function exchangeOverStream(stream: CircuitStream, request: EncodedRequest, signal?: AbortSignal | null): Promise<RawResponse> {
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

/** A standard Response for a raw one. */
export function toResponse(raw: RawResponse): Response {
  try {
    const headers = new Headers();
    for (const [name, value] of raw.headers) headers.append(name, value);
    return new Response(raw.body, { status: raw.status, statusText: raw.statusText, headers });
  } catch (err) {
    void raw.body?.cancel();
    throw new TpdpError('PROTOCOL_ERROR', `the exit sent a response head no Response can hold: ${(err as Error).message}`);
  }
}

export async function fetchOverStream(stream: CircuitStream, request: EncodedRequest, signal?: AbortSignal | null): Promise<Response> {
  return toResponse(await exchangeOverStream(stream, request, signal));
}
