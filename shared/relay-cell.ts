// The plaintext layout of a RELAY cell body (docs/TPDP.md §5). It is what the onion layers
// encrypt; `recognized` and `tag` let the destination hop tell its cells from cells in transit.
import { readU16, writeU16 } from './bytes.ts';
import { CELL_BODY_SIZE } from './cell.ts';
import { TpdpError } from './errors.ts';

export const RELAY_COMMANDS = {
  BEGIN: 1,
  DATA: 2,
  END: 3,
  CONNECTED: 4,
  SENDME: 5,
  EXTEND: 6,
  EXTENDED: 7,
  DROP: 8,
  FIN: 9,
} as const;

export type RelayCommand = (typeof RELAY_COMMANDS)[keyof typeof RELAY_COMMANDS];

const KNOWN = new Set<number>(Object.values(RELAY_COMMANDS));

export const RELAY_OFFSET = {
  command: 0,
  recognized: 1,
  streamId: 3,
  tag: 5,
  length: 21,
  data: 23,
} as const;

export const RELAY_TAG_SIZE = 16;
/** 2043 − 23 = 2020 bytes of stream data per cell. */
export const RELAY_DATA_MAX = CELL_BODY_SIZE - RELAY_OFFSET.data;
export const MAX_STREAM_ID = 0xffff;

export interface RelayMessage {
  command: RelayCommand;
  streamId: number;
  data: Uint8Array;
}

// Bodies of outgoing cells are carved from slabs of 16, zeroed as allocated: one allocation per 16
// cells instead of one each. A body lives only until its link writes it into a message (the next
// turn of the event loop), so a slab is not held for long by any one body.
const SLAB_BODIES = 16;
let slab = new Uint8Array(0);
let slabUsed = SLAB_BODIES;
function newBody(): Uint8Array {
  if (slabUsed === SLAB_BODIES) {
    slab = new Uint8Array(SLAB_BODIES * CELL_BODY_SIZE);
    slabUsed = 0;
  }
  return slab.subarray(slabUsed * CELL_BODY_SIZE, ++slabUsed * CELL_BODY_SIZE);
}

/** Writes a plaintext relay body (tag left zero: the sender's layer fills it in). */
export function encodeRelayBody(command: RelayCommand, streamId: number, data: Uint8Array): Uint8Array {
  if (data.length > RELAY_DATA_MAX) throw new RangeError(`relay data of ${data.length} bytes exceeds ${RELAY_DATA_MAX}`);
  const body = newBody();
  body[RELAY_OFFSET.command] = command;
  writeU16(body, RELAY_OFFSET.streamId, streamId);
  writeU16(body, RELAY_OFFSET.length, data.length);
  body.set(data, RELAY_OFFSET.data);
  return body;
}

/** Reads a plaintext relay body that already passed its tag check. */
export function decodeRelayBody(body: Uint8Array): RelayMessage {
  const command = body[RELAY_OFFSET.command];
  if (!KNOWN.has(command)) throw new TpdpError('PROTOCOL_ERROR', `unknown relay command ${command}`);
  const length = readU16(body, RELAY_OFFSET.length);
  if (length > RELAY_DATA_MAX) throw new TpdpError('PROTOCOL_ERROR', `relay length ${length} exceeds ${RELAY_DATA_MAX}`);
  return {
    command: command as RelayCommand,
    streamId: readU16(body, RELAY_OFFSET.streamId),
    data: body.slice(RELAY_OFFSET.data, RELAY_OFFSET.data + length),
  };
}

export function isRecognizedField(body: Uint8Array): boolean {
  return body[RELAY_OFFSET.recognized] === 0 && body[RELAY_OFFSET.recognized + 1] === 0;
}
