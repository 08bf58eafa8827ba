// One paused request of an anonymous tab, carried by the tab's circuit: the page's own headers
// plus the tab's cookies go to the exit; the answer comes back as a Fetch.fulfillRequest, with its
// Set-Cookie headers kept in the tab's jar and taken out, so none reach the browser's shared store.
import type { AlliumClient } from '../shared/index.ts';
import type { RawResponse } from '../shared/client/fetch-over-stream.ts';
import { isTpdpError } from '../shared/errors.ts';
import { concatBytes } from '../shared/bytes.ts';
import { fromBase64, toBase64 } from './base64.ts';
import type { ErrorReason, RequestPaused } from './cdp.ts';
import type { CookieJar } from './cookie-jar.ts';

/** Content codings the browser's DecompressionStream undoes. */
const DECODABLE = ['gzip', 'deflate'] as const;

export interface Fulfilment {
  responseCode: number;
  responsePhrase?: string;
  responseHeaders: { name: string; value: string }[];
  body: string;
}

export interface ForwardContext {
  client: AlliumClient;
  isolationKey: string;
  jar: CookieJar;
  /** The request body when the paused event did not carry it. */
  postData(): Promise<Uint8Array | null>;
}

/** Performs the request through the circuit; returns the fulfilment and whether the jar changed. */
export async function forward(paused: RequestPaused, context: ForwardContext): Promise<{ fulfilment: Fulfilment; cookiesChanged: boolean }> {
  const { url, method } = paused.request;
  const headers = Object.entries(paused.request.headers).filter(([name]) => name.toLowerCase() !== 'cookie');
  const cookie = context.jar.header(url);
  if (cookie) headers.push(['Cookie', cookie]);
  // Chrome adds Accept-Encoding below the interception point, so paused requests lack it.
  if (!headers.some(([name]) => name.toLowerCase() === 'accept-encoding')) headers.push(['Accept-Encoding', DECODABLE.join(', ')]);
  const body = await requestBody(paused, context);
  const response = await context.client.exchange({ method, url, headers, body }, { isolationKey: context.isolationKey });
  const setCookies = response.headers.filter(([name]) => name.toLowerCase() === 'set-cookie').map(([, value]) => value);
  const cookiesChanged = context.jar.store(url, setCookies);
  return { fulfilment: await fulfilment(response), cookiesChanged };
}

async function requestBody(paused: RequestPaused, context: ForwardContext): Promise<Uint8Array | null> {
  const entries = paused.request.postDataEntries;
  if (entries?.length) return concatBytes(...entries.map((entry) => fromBase64(entry.bytes ?? '')));
  return paused.request.hasPostData ? context.postData() : null;
}

/**
 * Chrome hands a fulfilled body to the page as it is, without undoing its Content-Encoding
 * (measured: a gzip page showed as gzip bytes), so the extension decodes what it asked for.
 */
async function fulfilment(response: RawResponse): Promise<Fulfilment> {
  const encoding = response.headers.find(([name]) => name.toLowerCase() === 'content-encoding')?.[1].trim().toLowerCase();
  const decode = encoding !== undefined && (DECODABLE as readonly string[]).includes(encoding) ? (encoding as CompressionFormat) : undefined;
  // (The DOM types make a decompressor's input BufferSource, which a byte stream feeds fine.)
  const decompress = decode && (new DecompressionStream(decode) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  const stream = response.body && decompress ? response.body.pipeThrough(decompress) : response.body;
  const body = stream ? new Uint8Array(await new Response(stream).arrayBuffer()) : new Uint8Array(0);
  const dropped = new Set(['set-cookie', ...(decode ? ['content-encoding', 'content-length'] : [])]);
  return {
    responseCode: response.status,
    ...(response.statusText ? { responsePhrase: response.statusText } : {}),
    responseHeaders: response.headers.filter(([name]) => !dropped.has(name.toLowerCase())).map(([name, value]) => ({ name, value })),
    body: toBase64(body),
  };
}

/** How a failure shows in the page (its network error), by the Allium error behind it. */
export function errorReason(err: unknown): ErrorReason {
  if (!isTpdpError(err)) return 'Failed';
  switch (err.code) {
    case 'TIMEOUT_ERROR':
      return 'TimedOut';
    case 'EXIT_POLICY_REFUSED':
      return 'AccessDenied';
    case 'DESTINATION_CONNECTION_ERROR':
      return 'ConnectionFailed';
    case 'DESTINATION_RESOLVE_ERROR':
      return 'NameNotResolved';
    case 'HOP_UNREACHABLE':
    case 'LINK_CLOSED':
      return 'InternetDisconnected';
    default:
      return 'Failed';
  }
}
