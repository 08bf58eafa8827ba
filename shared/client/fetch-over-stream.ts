// One HTTP exchange on a `fetch` stream: the exit performs the request; this side encodes the
// request and turns the answer into a standard Response whose body streams as it arrives.
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

/** Sends the request and resolves once the response head has arrived. */
export async function fetchOverStream(stream: CircuitStream, request: EncodedRequest, signal?: AbortSignal | null): Promise<Response> {
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

  const hasBody = request.method !== 'HEAD' && !NULL_BODY_STATUS.has(head.status);
  if (!hasBody) {
    stream.close('DONE');
    signal?.removeEventListener('abort', abort);
  }
  const body = hasBody
    ? new ReadableStream<Uint8Array>(
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
      )
    : null;
  try {
    const headers = new Headers();
    for (const [name, value] of head.headers) headers.append(name, value);
    return new Response(body, { status: head.status, statusText: head.statusText, headers });
  } catch (err) {
    stream.close('PROTOCOL_ERROR');
    throw new TpdpError('PROTOCOL_ERROR', `the exit sent a response head no Response can hold: ${(err as Error).message}`);
  }
}
