// Link cells: the fixed-size unit every TPDP link carries (docs/TPDP.md §3). A WebSocket message
// holds 1..MAX_CELLS_PER_MESSAGE whole cells back to back, so framing never depends on content.
import { readU32, writeU32 } from './bytes.ts';
import { TpdpError } from './errors.ts';

/**
 * Sent in Sec-WebSocket-Protocol; a relay refuses a link that does not offer it. `tpdp.2` is the
 * 2,048-byte cell format; `tpdp.1` (512-byte cells) is not spoken.
 */
export const LINK_SUBPROTOCOL = 'tpdp.2';

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
  /** CELL_BODY_SIZE bytes; a view into the received message (copy before keeping it). */
  body: Uint8Array;
}

export function encodeCell(circuitId: number, command: CellCommand, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (body.length > CELL_BODY_SIZE) throw new RangeError(`cell body of ${body.length} bytes exceeds ${CELL_BODY_SIZE}`);
  const cell = new Uint8Array(CELL_SIZE);
  writeU32(cell, 0, circuitId);
  cell[4] = command;
  cell.set(body, CELL_HEADER_SIZE);
  return cell;
}

/** Splits a link message into cells, refusing anything that is not a whole number of known cells. */
export function decodeCells(message: Uint8Array): Cell[] {
  if (message.length === 0 || message.length % CELL_SIZE !== 0) {
    throw new TpdpError('PROTOCOL_ERROR', `link message of ${message.length} bytes is not a whole number of ${CELL_SIZE}-byte cells`);
  }
  if (message.length > MAX_MESSAGE_SIZE) {
    throw new TpdpError('PROTOCOL_ERROR', `link message carries more than ${MAX_CELLS_PER_MESSAGE} cells`);
  }
  const cells: Cell[] = [];
  for (let offset = 0; offset < message.length; offset += CELL_SIZE) {
    const command = message[offset + 4];
    if (!KNOWN_COMMANDS.has(command)) throw new TpdpError('PROTOCOL_ERROR', `unknown cell command ${command}`);
    cells.push({
      circuitId: readU32(message, offset),
      command: command as CellCommand,
      body: message.subarray(offset + CELL_HEADER_SIZE, offset + CELL_SIZE),
    });
  }
  return cells;
}

/**
 * Re-addresses a received cell in place, given its body (a view into the received message, as
 * decodeCells returns it): a relay forwards it without allocating or copying a new cell.
 */
export function readdressCell(body: Uint8Array, circuitId: number, command: CellCommand): Uint8Array {
  const cell = new Uint8Array(body.buffer, body.byteOffset - CELL_HEADER_SIZE, CELL_SIZE);
  writeU32(cell, 0, circuitId);
  cell[4] = command;
  return cell;
}
