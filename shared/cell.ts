// Link cells: the fixed-size unit every TPDP link carries (docs/TPDP.md §3). A WebSocket message
// holds 1..MAX_CELLS_PER_MESSAGE whole cells, so framing never depends on content: their headers
// first, then their bodies back to back, so that consecutive cells of a circuit are one range of
// bytes for the hop's keystream, which runs on across cells (one cipher call for the run).
import { readU32, writeU32 } from './bytes.ts';
import { TpdpError } from './errors.ts';

/**
 * Sent in Sec-WebSocket-Protocol; a relay refuses a link that does not offer it. `tpdp.3` lays a
 * message's cell headers first and its bodies back to back after them (docs/TPDP.md §3.2);
 * `tpdp.2` (the same cells, each header before its body) is not spoken.
 */
export const LINK_SUBPROTOCOL = 'tpdp.3';

/** 2,048 bytes, chosen by measurement (docs/TPDP.md §9.10): per-cell crypto and header work dominate CPU per MB. */
export const CELL_SIZE = 2048;
export const CELL_HEADER_SIZE = 5;
export const CELL_BODY_SIZE = CELL_SIZE - CELL_HEADER_SIZE;
/** 16 cells = 32 KiB: large enough to amortise per-message cost, small enough to bound buffers. */
export const MAX_CELLS_PER_MESSAGE = 16;
export const MAX_MESSAGE_SIZE = CELL_SIZE * MAX_CELLS_PER_MESSAGE;
export const MAX_CIRCUIT_ID = 0xffff_ffff;

export const CELL_COMMANDS = {
  PADDING: 0,
  CREATE: 1,
  CREATED: 2,
  RELAY: 3,
  RELAY_EARLY: 4,
  DESTROY: 5,
} as const;

export type CellCommand = (typeof CELL_COMMANDS)[keyof typeof CELL_COMMANDS];

const KNOWN_COMMANDS = new Set<number>(Object.values(CELL_COMMANDS));

export interface Cell {
  circuitId: number;
  command: CellCommand;
  /**
   * CELL_BODY_SIZE bytes when received: a view into the message (copy before keeping it). Bodies
   * of consecutive cells are adjacent in their message, so a run of them is one byte range.
   */
  body: Uint8Array;
}

/** Where cell `index` of a message has its header: all headers come first. */
export const headerOffset = (index: number): number => index * CELL_HEADER_SIZE;
/** Where cell `index` of a message of `count` cells has its body: after every header, back to back. */
export const bodyOffset = (count: number, index: number): number => count * CELL_HEADER_SIZE + index * CELL_BODY_SIZE;

/** Writes the header of cell `index` of a message. */
export function writeHeader(message: Uint8Array, index: number, circuitId: number, command: CellCommand): void {
  writeU32(message, headerOffset(index), circuitId);
  message[headerOffset(index) + 4] = command;
}

/** Writes cell `index` of a `count`-cell message; a body shorter than CELL_BODY_SIZE leaves the rest as it is (zero in a new message). */
export function writeCell(message: Uint8Array, count: number, index: number, circuitId: number, command: CellCommand, body: Uint8Array): void {
  if (body.length > CELL_BODY_SIZE) throw new RangeError(`cell body of ${body.length} bytes exceeds ${CELL_BODY_SIZE}`);
  writeHeader(message, index, circuitId, command);
  message.set(body, bodyOffset(count, index));
}

/** A message of the given cells, in order. */
export function encodeMessage(cells: readonly Cell[]): Uint8Array {
  if (cells.length === 0 || cells.length > MAX_CELLS_PER_MESSAGE) throw new RangeError(`a message holds 1 to ${MAX_CELLS_PER_MESSAGE} cells, not ${cells.length}`);
  const message = new Uint8Array(cells.length * CELL_SIZE);
  cells.forEach((cell, i) => writeCell(message, cells.length, i, cell.circuitId, cell.command, cell.body));
  return message;
}

/** A message of one cell (whose layout is the header, then the body). */
export function encodeCell(circuitId: number, command: CellCommand, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodeMessage([{ circuitId, command, body }]);
}

/**
 * Checks a link message as a whole (TPDP §3.2: a whole number of cells, at most
 * MAX_CELLS_PER_MESSAGE, every command known) and returns its cell count, or why it is refused.
 */
export function checkMessage(message: Uint8Array): number | string {
  if (message.length === 0 || message.length % CELL_SIZE !== 0) return `link message of ${message.length} bytes is not a whole number of ${CELL_SIZE}-byte cells`;
  if (message.length > MAX_MESSAGE_SIZE) return `link message carries more than ${MAX_CELLS_PER_MESSAGE} cells`;
  const count = message.length / CELL_SIZE;
  for (let i = 0; i < count; i++) {
    const command = message[headerOffset(i) + 4];
    if (!KNOWN_COMMANDS.has(command)) return `unknown cell command ${command}`;
  }
  return count;
}

/** Received messages, by the body of their first cell: what lets a link send one on, rewritten in place (reusableMessage). */
const messageOfFirstBody = new WeakMap<Uint8Array, Uint8Array>();

/** Splits a link message into cells, refusing anything that is not a whole number of known cells. */
export function decodeCells(message: Uint8Array): Cell[] {
  const count = checkMessage(message);
  if (typeof count === 'string') throw new TpdpError('PROTOCOL_ERROR', count);
  const cells: Cell[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = bodyOffset(count, i);
    cells[i] = { circuitId: readU32(message, headerOffset(i)), command: message[headerOffset(i) + 4] as CellCommand, body: message.subarray(at, at + CELL_BODY_SIZE) };
  }
  messageOfFirstBody.set(cells[0].body, message);
  return cells;
}

/**
 * The received message whose cells' bodies are exactly `bodies[from, from + count)`, in order, if
 * there is one: a relay forwarding every cell of a message together can rewrite its headers in
 * place and send it on, instead of allocating and copying a new one. Only the bodies' owner (the
 * link they were queued on) may then write to it.
 */
export function reusableMessage(bodies: readonly Uint8Array[], from: number, count: number): Uint8Array | undefined {
  const message = messageOfFirstBody.get(bodies[from]);
  if (!message || message.length !== count * CELL_SIZE) return undefined;
  for (let i = 1; i < count; i++) {
    const body = bodies[from + i];
    if (body.buffer !== message.buffer || body.byteOffset !== message.byteOffset + bodyOffset(count, i) || body.length !== CELL_BODY_SIZE) return undefined;
  }
  return message;
}

/** The bytes from the first body of `cells` to the end of the last: one range, as they are consecutive cells of one message. */
export function bodiesOf(first: Cell, last: Cell): Uint8Array {
  return new Uint8Array(first.body.buffer, first.body.byteOffset, last.body.byteOffset + last.body.length - first.body.byteOffset);
}
