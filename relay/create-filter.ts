// Applies a source's circuit-creation budget to what arrives on its link, before the relay node
// sees it: each CREATE cell over budget is answered DESTROY RESOURCE_LIMIT (TPDP §4.2: a refused
// CREATE creates no state) and removed from the message. A link with more than `maxRefusals`
// refusals within REFUSAL_WINDOW_MS is closed with RESOURCE_LIMIT (4007): answering a flood cell by
// cell would cost the relay as much as the flood, and the source then has to reconnect at its
// connection rate. Messages that are not well-formed are passed on untouched, for the link to close as TPDP
// §3.2 says.
import { CELL_COMMANDS, CELL_HEADER_SIZE, CELL_SIZE, MAX_MESSAGE_SIZE, encodeCell } from '../shared/cell.ts';
import { encodeDestroy } from '../shared/control-cells.ts';
import { CLOSE_CODE_BASE } from '../shared/link.ts';
import { REASONS } from '../shared/errors.ts';
import type { WebSocketLike } from '../shared/websocket-link.ts';

const KNOWN_COMMANDS = new Set<number>(Object.values(CELL_COMMANDS));
const REFUSED = encodeDestroy('RESOURCE_LIMIT');
const REFUSAL_WINDOW_MS = 10_000;

/**
 * The socket as the link sees it: CREATE cells pass only while `mayCreateCircuit` allows;
 * `onFlood` is told when the link is closed for too many refusals.
 */
export function filterCreates(socket: WebSocketLike, mayCreateCircuit: () => boolean, maxRefusals: number, onFlood: () => void): WebSocketLike {
  let refusals = 0;
  let windowStart = Date.now();
  let closed = false;
  const filter = (message: Uint8Array): Uint8Array | undefined => {
    if (closed) return undefined;
    if (message.length === 0 || message.length % CELL_SIZE !== 0 || message.length > MAX_MESSAGE_SIZE) return message;
    for (let at = 0; at < message.length; at += CELL_SIZE) if (!KNOWN_COMMANDS.has(message[at + 4])) return message;
    const kept: Uint8Array[] = [];
    const answers: Uint8Array[] = [];
    for (let at = 0; at < message.length; at += CELL_SIZE) {
      const cell = message.subarray(at, at + CELL_SIZE);
      if (cell[4] !== CELL_COMMANDS.CREATE || mayCreateCircuit()) kept.push(cell);
      else answers.push(encodeCell(new DataView(cell.buffer, cell.byteOffset, CELL_HEADER_SIZE).getUint32(0), CELL_COMMANDS.DESTROY, REFUSED));
    }
    if (answers.length === 0) return message;
    if (Date.now() - windowStart > REFUSAL_WINDOW_MS) {
      windowStart = Date.now();
      refusals = 0;
    }
    refusals += answers.length;
    if (refusals > maxRefusals) {
      closed = true;
      onFlood();
      socket.close(CLOSE_CODE_BASE + REASONS.RESOURCE_LIMIT, 'RESOURCE_LIMIT: circuit creation rate exceeded');
      return undefined;
    }
    socket.send(concat(answers));
    return kept.length > 0 ? concat(kept) : undefined;
  };
  return {
    get binaryType() {
      return socket.binaryType;
    },
    set binaryType(value: string) {
      socket.binaryType = value;
    },
    get readyState() {
      return socket.readyState;
    },
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    get protocol() {
      return socket.protocol;
    },
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
    addEventListener(type, listener) {
      if (type !== 'message') return socket.addEventListener(type, listener);
      socket.addEventListener('message', (event: { data: unknown }) => {
        const bytes = event.data instanceof ArrayBuffer ? new Uint8Array(event.data) : event.data;
        if (!(bytes instanceof Uint8Array)) return listener(event);
        const passed = filter(bytes);
        if (passed) listener({ data: passed });
      });
    },
  };
}

function concat(cells: Uint8Array[]): Uint8Array {
  if (cells.length === 1) return cells[0];
  const out = new Uint8Array(cells.length * CELL_SIZE);
  cells.forEach((cell, i) => out.set(cell, i * CELL_SIZE));
  return out;
}
