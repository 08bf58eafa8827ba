// The pool's HTTP plumbing: bounded JSON request bodies and JSON responses, errors as
// `{"error": message, "code": CODE}` so relays and operators can tell every refusal apart.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fromUtf8 } from '../shared/bytes.ts';

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Reads a JSON request body of at most maxBytes; HttpError 415, 413 or 400 otherwise. */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') {
    return Promise.reject(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'));
  }
  // The rest of the body is never read, so the connection cannot be reused.
  const tooLarge = new HttpError(413, 'BODY_TOO_LARGE', `request body larger than ${maxBytes} bytes`, { connection: 'close' });
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        req.off('data', onData);
        req.off('end', onEnd);
        reject(tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      try {
        resolve(JSON.parse(fromUtf8(Buffer.concat(chunks))));
      } catch {
        reject(new HttpError(400, 'BAD_JSON', 'request body is not valid UTF-8 JSON'));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    // A client that leaves mid-body is refused like any other bad body, not logged as a pool failure.
    req.on('error', () => reject(new HttpError(400, 'BAD_JSON', 'request body ended before its announced length')));
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(data.length),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(data);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: err.message, code: err.code }, err.headers);
}
