// Applies a source's circuit-creation budget to what arrives on its link, before the relay node
// sees it: each CREATE cell over budget is answered DESTROY RESOURCE_LIMIT (TPDP §4.2: a refused
// CREATE creates no state) and removed from the message. A link with more than `maxRefusals`
// refusals within REFUSAL_WINDOW_MS is closed with RESOURCE_LIMIT (4007): answering a flood cell by
// cell would cost the relay as much as the flood, and the source then has to reconnect at its
// connection rate. Messages that are not well-formed are passed on untouched, for the link to close as TPDP
// §3.2 says.
import { CELL_COMMANDS, checkMessage, decodeCells, encodeMessage, headerOffset, type Cell } from '../shared/cell.ts';
import { encodeDestroy } from '../shared/control-cells.ts';
import { CLOSE_CODE_BASE } from '../shared/link.ts';
import { REASONS } from '../shared/errors.ts';
import type { WebSocketLike } from '../shared/websocket-link.ts';

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
    // Most messages carry no CREATE (a bulk transfer's): those pass after a look at the headers,
    // and only the others are decoded.
    const count = checkMessage(message);
    if (typeof count === 'string' || !hasCreate(message, count)) return message;
    const cells = decodeCells(message);
    const kept: Cell[] = [];
    const answers: Cell[] = [];
    for (const cell of cells) {
      if (cell.command !== CELL_COMMANDS.CREATE || mayCreateCircuit()) kept.push(cell);
      else answers.push({ circuitId: cell.circuitId, command: CELL_COMMANDS.DESTROY, body: REFUSED });
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
    socket.send(encodeMessage(answers));
    return kept.length > 0 ? encodeMessage(kept) : undefined;
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

function hasCreate(message: Uint8Array, count: number): boolean {
  for (let i = 0; i < count; i++) if (message[headerOffset(i) + 4] === CELL_COMMANDS.CREATE) return true;
  return false;
}
