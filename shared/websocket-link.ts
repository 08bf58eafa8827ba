// Binds a Link to anything shaped like the standard WebSocket API: the browser's, Node 24's
// global one, and `ws` (which the relay uses for its speed and its server). Links never carry text.
import { LINK_SUBPROTOCOL } from './cell.ts';
import { REASONS, TpdpError } from './errors.ts';
import { CLOSE_CODE_BASE, Link, linkCloseReason } from './link.ts';

/** The subset of the WebSocket API a link uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;


function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return undefined;
}

/** Wraps an already open WebSocket; `initiator` is true for the side that opened it. */
export function linkFromWebSocket(socket: WebSocketLike, initiator: boolean, label: string, keepaliveMs?: number): Link {
  // Blob delivery would be asynchronous and reorder nothing, but costs a copy per message.
  if (socket.binaryType === 'blob') socket.binaryType = 'arraybuffer';
  const link = new Link(
    {
      send: (message) => socket.send(message),
      close: (code, reason) => socket.close(code, reason),
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
    },
    initiator,
    label,
    keepaliveMs,
  );
  socket.addEventListener('message', (event: { data: unknown }) => {
    const bytes = toBytes(event.data);
    if (!bytes) link.close('PROTOCOL_ERROR', 'text message on a TPDP link');
    else link.receive(bytes);
  });
  socket.addEventListener('close', (event: { code: number; reason: string }) => {
    link.transportClosed(linkCloseReason(event.code), event.reason || `WebSocket closed (${event.code})`);
  });
  socket.addEventListener('error', () => link.transportClosed('LINK_CLOSED', 'WebSocket error'));
  return link;
}

/** Opens a link to a relay URL, failing with HOP_UNREACHABLE or TIMEOUT_ERROR. */
export function openWebSocketLink(factory: WebSocketFactory, url: string, timeoutMs: number, keepaliveMs?: number): Promise<Link> {
  return new Promise((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = factory(url, [LINK_SUBPROTOCOL]);
    } catch (err) {
      reject(new TpdpError('HOP_UNREACHABLE', `cannot open ${url}: ${(err as Error).message}`));
      return;
    }
    if (socket.binaryType === 'blob') socket.binaryType = 'arraybuffer';
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.close();
      reject(new TpdpError('TIMEOUT_ERROR', `no WebSocket connection to ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new TpdpError('HOP_UNREACHABLE', `cannot connect to ${url}: ${detail}`));
    };
    socket.addEventListener('error', (event: { message?: string; error?: Error }) => fail(event.message ?? event.error?.message ?? 'connection failed'));
    socket.addEventListener('close', (event: { code: number }) => fail(`closed (${event.code})`));
    socket.addEventListener('open', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (socket.protocol !== LINK_SUBPROTOCOL) {
        // 1002 is reserved to the browser; applications close with 1000 or 3000–4999.
        socket.close(CLOSE_CODE_BASE + REASONS.PROTOCOL_ERROR, 'TPDP subprotocol not agreed');
        reject(new TpdpError('PROTOCOL_ERROR', `${url} did not agree to the ${LINK_SUBPROTOCOL} subprotocol`));
        return;
      }
      resolve(linkFromWebSocket(socket, true, url, keepaliveMs));
    });
  });
}
