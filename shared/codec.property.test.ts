// Property tests for every wire codec: valid values round-trip, and arbitrary bytes from the
// network either decode (canonically) or are refused with a TpdpError, never another exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededBytes } from '../test/fuzz/bytes.ts';
import { concatBytes, fromBase64Url, readU16, readU32, toBase64Url, toHex, utf8, writeU16, writeU32 } from './bytes.ts';
import { decodeBegin, encodeBegin, STREAM_KINDS, type BeginRequest } from './begin.ts';
import { bodiesOf, bodyOffset, CELL_BODY_SIZE, CELL_COMMANDS, CELL_HEADER_SIZE, CELL_SIZE, decodeCells, encodeCell, encodeMessage, headerOffset, MAX_CELLS_PER_MESSAGE, type CellCommand } from './cell.ts';
import { decodeCreate, decodeCreated, decodeExtend, encodeCreate, encodeCreated, encodeExtend, MAX_EXTEND_URL_BYTES } from './control-cells.ts';
import { TpdpError, type ReasonName } from './errors.ts';
import {
  decodeRequestHead,
  decodeResponseHead,
  encodeRequestHead,
  encodeResponseHead,
  FETCH_CODEC_VERSION,
  HeadCollector,
  MAX_HEAD_BYTES,
  type RequestHead,
  type ResponseHead,
} from './fetch-codec.ts';
import { CIRCUIT_WINDOW_INCREMENT, CIRCUIT_WINDOW_START, DeliverWindow, PackageWindow, STREAM_WINDOW_INCREMENT, STREAM_WINDOW_START } from './flow-control.ts';
import { CLIENT_HANDSHAKE_SIZE, HANDSHAKE_TYPE_NTOR, SERVER_HANDSHAKE_SIZE } from './handshake.ts';
import { Link, type LinkTransport } from './link.ts';
import { decodeRelayBody, encodeRelayBody, RELAY_COMMANDS, RELAY_DATA_MAX, RELAY_OFFSET, type RelayCommand } from './relay-cell.ts';

const RUNS = { numRuns: 1000 };

type Outcome<T> = { ok: true; value: T } | { ok: false; error: TpdpError };

/** Runs a decoder on untrusted input: any exception other than a TpdpError fails the property. */
function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (!(err instanceof TpdpError)) throw new Error(`expected a TpdpError, got ${String(err)}`, { cause: err });
    return { ok: false, error: err };
  }
}

function expectRefused(fn: () => unknown, code: ReasonName = 'PROTOCOL_ERROR'): void {
  const outcome = attempt(fn);
  expect(outcome.ok).toBe(false);
  if (!outcome.ok) expect(outcome.error.code).toBe(code);
}


/** Byte equality without hex conversion (the hot loops compare thousands of cells). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** A failed check inside a long generated run: throws so fast-check shrinks and reports it. */
function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function padded(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes);
  return out;
}

/** Splits bytes at the given cut points (sorted, deduplicated, clamped). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** Mutations of a valid encoding: flipped, overwritten, truncated or extended bytes. */
function mutated(valid: Uint8Array, edits: { kind: number; at: number; value: number }[]): Uint8Array {
  let out: Uint8Array = valid.slice();
  for (const { kind, at, value } of edits) {
    const i = out.length === 0 ? 0 : at % out.length;
    if (kind === 0 && out.length > 0) out[i] ^= 1 << (value & 7);
    else if (kind === 1 && out.length > 0) out[i] = value;
    else if (kind === 2) out = out.slice(0, i);
    else out = concatBytes(out, Uint8Array.of(value));
  }
  return out;
}

const edits = fc.array(fc.record({ kind: fc.nat(3), at: fc.nat(100_000), value: fc.nat(255) }), { minLength: 1, maxLength: 4 });
const u32 = fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([high, low]) => high * 0x10000 + low);
const cellCommand = fc.constantFrom(...(Object.values(CELL_COMMANDS) as CellCommand[]));
const relayCommand = fc.constantFrom(...(Object.values(RELAY_COMMANDS) as RelayCommand[]));
const KNOWN_CELL_COMMANDS = new Set<number>(Object.values(CELL_COMMANDS));
const KNOWN_RELAY_COMMANDS = new Set<number>(Object.values(RELAY_COMMANDS));

describe('link cells: decodeCells', () => {
  const cellSpec = fc.record({ circuitId: u32, command: cellCommand, length: fc.nat(CELL_BODY_SIZE), seed: fc.integer() });

  it('round-trips 1..MAX_CELLS_PER_MESSAGE encoded cells: headers first, then the bodies back to back', () => {
    fc.assert(
      fc.property(fc.array(cellSpec, { minLength: 1, maxLength: MAX_CELLS_PER_MESSAGE, size: 'max' }), (specs) => {
        const bodies = specs.map((s) => seededBytes(s.seed, s.length));
        const message = encodeMessage(specs.map((s, i) => ({ circuitId: s.circuitId, command: s.command, body: bodies[i] })));
        expect(message.length).toBe(specs.length * CELL_SIZE);
        const cells = decodeCells(message);
        expect(cells).toHaveLength(specs.length);
        cells.forEach((cell, i) => {
          expect(cell.circuitId).toBe(specs[i].circuitId);
          expect(readU32(message, i * CELL_HEADER_SIZE)).toBe(specs[i].circuitId);
          expect(message[i * CELL_HEADER_SIZE + 4]).toBe(specs[i].command);
          expect(cell.command).toBe(specs[i].command);
          expect(cell.body).toHaveLength(CELL_BODY_SIZE);
          expect(cell.body.byteOffset - message.byteOffset).toBe(specs.length * CELL_HEADER_SIZE + i * CELL_BODY_SIZE);
          expect(same(cell.body, padded(bodies[i], CELL_BODY_SIZE))).toBe(true);
        });
        // Any run of consecutive cells is one range of the message: its bodies, in order.
        const first = specs.length > 1 ? 1 : 0;
        expect(same(bodiesOf(cells[first], cells[specs.length - 1]), concatBytes(...cells.slice(first).map((c) => c.body)))).toBe(true);
      }),
      RUNS,
    );
  });

  it('lays out a one-cell message as its header, then its body', () => {
    const message = encodeCell(0x01020304, CELL_COMMANDS.RELAY, Uint8Array.of(9, 8, 7));
    expect([...message.subarray(0, 8)]).toEqual([1, 2, 3, 4, CELL_COMMANDS.RELAY, 9, 8, 7]);
    expect(headerOffset(0)).toBe(0);
    expect(bodyOffset(1, 0)).toBe(CELL_HEADER_SIZE);
  });

  it('refuses any length that is not a positive whole number of cells', () => {
    fc.assert(
      fc.property(
        fc.nat((MAX_CELLS_PER_MESSAGE + 2) * CELL_SIZE).filter((n) => n === 0 || n % CELL_SIZE !== 0),
        fc.integer(),
        (length, seed) => expectRefused(() => decodeCells(seededBytes(seed, length))),
      ),
      RUNS,
    );
  });

  it('refuses more than MAX_CELLS_PER_MESSAGE cells, even when every cell is valid', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_CELLS_PER_MESSAGE + 1, max: 3 * MAX_CELLS_PER_MESSAGE }), cellCommand, (count, command) => {
        const message = new Uint8Array(count * CELL_SIZE);
        for (let i = 0; i < count; i++) message[i * CELL_HEADER_SIZE + 4] = command;
        expectRefused(() => decodeCells(message));
      }),
      RUNS,
    );
  });

  it('refuses a message in which any one cell has an unknown command', () => {
    fc.assert(
      fc.property(
        fc.array(cellSpec, { minLength: 1, maxLength: MAX_CELLS_PER_MESSAGE, size: 'max' }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }).filter((c) => !KNOWN_CELL_COMMANDS.has(c)),
        (specs, which, command) => {
          const message = encodeMessage(specs.map((s) => ({ circuitId: s.circuitId, command: s.command, body: seededBytes(s.seed, s.length) })));
          message[(which % specs.length) * CELL_HEADER_SIZE + 4] = command;
          expectRefused(() => decodeCells(message));
        },
      ),
      RUNS,
    );
  });

  it('decodes arbitrary bytes exactly when the length and every command are valid, else throws TpdpError', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: MAX_CELLS_PER_MESSAGE + 1 }).map((n) => n * CELL_SIZE), fc.nat((MAX_CELLS_PER_MESSAGE + 1) * CELL_SIZE)),
        fc.integer(),
        fc.array(fc.oneof(cellCommand, fc.nat(255)), { maxLength: MAX_CELLS_PER_MESSAGE + 1, size: 'max' }),
        (length, seed, commands) => {
          const message = seededBytes(seed, length);
          commands.forEach((command, i) => {
            if (i * CELL_HEADER_SIZE + 4 < message.length) message[i * CELL_HEADER_SIZE + 4] = command;
          });
          const count = message.length / CELL_SIZE;
          let valid = Number.isInteger(count) && count >= 1 && count <= MAX_CELLS_PER_MESSAGE;
          for (let i = 0; valid && i < count; i++) valid = KNOWN_CELL_COMMANDS.has(message[i * CELL_HEADER_SIZE + 4]);
          const outcome = attempt(() => decodeCells(message));
          expect(outcome.ok).toBe(valid);
          if (outcome.ok) {
            outcome.value.forEach((cell, i) => {
              expect(cell.circuitId).toBe(readU32(message, i * CELL_HEADER_SIZE));
              expect(same(cell.body, message.subarray(bodyOffset(count, i), bodyOffset(count, i + 1)))).toBe(true);
            });
            expect(same(encodeMessage(outcome.value), message)).toBe(true);
          }
        },
      ),
      RUNS,
    );
  });

  it('Link.receive delivers the cells of a valid message and closes the link with PROTOCOL_ERROR otherwise, never throwing', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: MAX_CELLS_PER_MESSAGE + 1 }).map((n) => n * CELL_SIZE), fc.nat(4 * CELL_SIZE)),
        fc.integer(),
        fc.array(fc.oneof(cellCommand, fc.nat(255)), { maxLength: MAX_CELLS_PER_MESSAGE + 1, size: 'max' }),
        (length, seed, commands) => {
          const message = seededBytes(seed, length);
          commands.forEach((command, i) => {
            if (i * CELL_HEADER_SIZE + 4 < message.length) message[i * CELL_HEADER_SIZE + 4] = command;
          });
          const closes: number[] = [];
          const transport: LinkTransport = { bufferedAmount: 0, send: () => {}, close: (code) => closes.push(code) };
          const link = new Link(transport, false, 'peer');
          const delivered: number[] = [];
          const reasons: ReasonName[] = [];
          link.handlers = { onCells: (cells) => delivered.push(...cells.map((cell) => cell.circuitId)), onClose: (reason) => reasons.push(reason) };
          const expected = attempt(() => decodeCells(message));
          link.receive(message);
          if (expected.ok) {
            expect(delivered).toEqual(expected.value.map((c) => c.circuitId));
            expect(link.isClosed).toBe(false);
          } else {
            expect(delivered).toEqual([]);
            expect(reasons).toEqual(['PROTOCOL_ERROR']);
            expect(closes).toEqual([4001]);
            expect(link.isClosed).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('relay bodies: encodeRelayBody / decodeRelayBody', () => {
  it('round-trips every command, stream id and data length', () => {
    fc.assert(
      fc.property(relayCommand, fc.nat(0xffff), fc.uint8Array({ maxLength: RELAY_DATA_MAX, size: 'max' }), (command, streamId, data) => {
        const body = encodeRelayBody(command, streamId, data);
        expect(body).toHaveLength(CELL_BODY_SIZE);
        expect(readU16(body, RELAY_OFFSET.recognized)).toBe(0);
        const message = decodeRelayBody(body);
        expect(message.command).toBe(command);
        expect(message.streamId).toBe(streamId);
        expect(toHex(message.data)).toBe(toHex(data));
      }),
      RUNS,
    );
  });

  it('decodes an arbitrary CELL_BODY_SIZE-byte body exactly when its command and length are valid, else throws TpdpError', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.oneof(relayCommand, fc.nat(255)),
        fc.oneof(fc.nat(RELAY_DATA_MAX), fc.integer({ min: RELAY_DATA_MAX + 1, max: RELAY_DATA_MAX + 3 }), fc.nat(0xffff)),
        (seed, command, length) => {
          const body = seededBytes(seed, CELL_BODY_SIZE);
          body[RELAY_OFFSET.command] = command;
          writeU16(body, RELAY_OFFSET.length, length);
          const valid = KNOWN_RELAY_COMMANDS.has(command) && length <= RELAY_DATA_MAX;
          const outcome = attempt(() => decodeRelayBody(body));
          expect(outcome.ok).toBe(valid);
          if (outcome.ok) {
            expect(outcome.value.data).toHaveLength(length);
            expect(outcome.value.streamId).toBe(readU16(body, RELAY_OFFSET.streamId));
            expect(toHex(outcome.value.data)).toBe(toHex(body.subarray(RELAY_OFFSET.data, RELAY_OFFSET.data + length)));
          }
        },
      ),
      RUNS,
    );
  });

  it('refuses to encode more data than a cell holds', () => {
    expect(() => encodeRelayBody(RELAY_COMMANDS.DATA, 1, new Uint8Array(RELAY_DATA_MAX + 1))).toThrow(RangeError);
  });
});

const HOST_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-'];
const validHost = fc.string({ unit: fc.constantFrom(...HOST_CHARS), minLength: 1, maxLength: 255, size: 'max' });

describe('BEGIN: encodeBegin / decodeBegin', () => {
  it('round-trips connect requests for valid hosts and ports, and fetch requests', () => {
    fc.assert(
      fc.property(validHost, fc.integer({ min: 1, max: 65535 }), (host, port) => {
        const request: BeginRequest = { kind: 'connect', host, port };
        const bytes = encodeBegin(request);
        expect(bytes[0]).toBe(STREAM_KINDS.connect);
        expect(decodeBegin(bytes)).toEqual(request);
      }),
      RUNS,
    );
    expect(decodeBegin(encodeBegin({ kind: 'fetch' }))).toEqual({ kind: 'fetch' });
  });

  it('encodeBegin on arbitrary hosts and ports either refuses with TpdpError or round-trips', () => {
    fc.assert(
      fc.property(
        fc.oneof(validHost, fc.string({ unit: 'binary', maxLength: 300, size: 'max' }), fc.string({ maxLength: 20, size: 'max' })),
        fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.double()),
        (host, port) => {
          const outcome = attempt(() => encodeBegin({ kind: 'connect', host, port }));
          const valid = /^[A-Za-z0-9._:-]+$/.test(host) && utf8(host).length <= 255 && Number.isInteger(port) && port >= 1 && port <= 65535;
          expect(outcome.ok).toBe(valid);
          if (outcome.ok) expect(decodeBegin(outcome.value)).toEqual({ kind: 'connect', host, port });
        },
      ),
      RUNS,
    );
  });

  it('decodeBegin on arbitrary bytes throws nothing but TpdpError, and what it accepts is canonical', () => {
    const structured = fc
      .record({ kind: fc.oneof(fc.constantFrom(1, 2), fc.nat(255)), port: fc.nat(0xffff), length: fc.nat(255), host: fc.uint8Array({ maxLength: 260, size: 'max' }), hostText: validHost, useText: fc.boolean() })
      .map(({ kind, port, length, host, hostText, useText }) => {
        const hostBytes = useText ? utf8(hostText) : host;
        const out = new Uint8Array(4 + hostBytes.length);
        out[0] = kind;
        writeU16(out, 1, port);
        out[3] = useText ? hostBytes.length : length;
        out.set(hostBytes, 4);
        return out;
      });
    fc.assert(
      fc.property(fc.oneof(structured, fc.uint8Array({ maxLength: 300, size: 'max' })), (bytes) => {
        const outcome = attempt(() => decodeBegin(bytes));
        if (outcome.ok) expect(toHex(encodeBegin(outcome.value))).toBe(toHex(bytes));
      }),
      RUNS,
    );
  });
});

const URL_CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&\'()*+,;=%', 'é', 'ü', '中', '😀'];
const validRelayUrl = fc
  .tuple(fc.constantFrom('ws://', 'wss://'), fc.string({ unit: fc.constantFrom(...URL_CHARS), minLength: 1, maxLength: 250, size: 'max' }))
  .map(([scheme, rest]) => scheme + rest)
  .filter((url) => utf8(url).length <= MAX_EXTEND_URL_BYTES);
const clientHandshake = fc.uint8Array({ minLength: CLIENT_HANDSHAKE_SIZE, maxLength: CLIENT_HANDSHAKE_SIZE });
const serverReply = fc.uint8Array({ minLength: SERVER_HANDSHAKE_SIZE, maxLength: SERVER_HANDSHAKE_SIZE });

describe('circuit-building bodies: CREATE, CREATED, EXTEND', () => {
  it('CREATE round-trips a client handshake, also from a padded cell body', () => {
    fc.assert(
      fc.property(clientHandshake, (handshake) => {
        const body = encodeCreate(handshake);
        expect(readU16(body, 0)).toBe(HANDSHAKE_TYPE_NTOR);
        expect(toHex(decodeCreate(body))).toBe(toHex(handshake));
        expect(toHex(decodeCreate(padded(body, CELL_BODY_SIZE)))).toBe(toHex(handshake));
      }),
      RUNS,
    );
  });

  it('CREATED round-trips a server reply, also from a padded cell body', () => {
    fc.assert(
      fc.property(serverReply, (reply) => {
        const body = encodeCreated(reply);
        expect(toHex(decodeCreated(body))).toBe(toHex(reply));
        expect(toHex(decodeCreated(padded(body, CELL_BODY_SIZE)))).toBe(toHex(reply));
      }),
      RUNS,
    );
  });

  it('EXTEND round-trips ws:// and wss:// URLs up to the limit with a handshake, and fits one relay cell', () => {
    fc.assert(
      fc.property(validRelayUrl, clientHandshake, (url, handshake) => {
        const data = encodeExtend({ url, handshake });
        expect(data.length).toBeLessThanOrEqual(RELAY_DATA_MAX);
        const decoded = decodeExtend(data);
        expect(decoded.url).toBe(url);
        expect(toHex(decoded.handshake)).toBe(toHex(handshake));
      }),
      RUNS,
    );
  });

  it('encodeExtend on arbitrary URLs refuses with TpdpError or produces bytes that decode back (or are refused) the same way', () => {
    fc.assert(
      fc.property(fc.oneof(validRelayUrl, fc.string({ unit: 'binary', maxLength: 300, size: 'max' })), clientHandshake, (url, handshake) => {
        const encoded = attempt(() => encodeExtend({ url, handshake }));
        expect(encoded.ok).toBe(utf8(url).length <= MAX_EXTEND_URL_BYTES);
        if (!encoded.ok) return;
        const decoded = attempt(() => decodeExtend(encoded.value));
        expect(decoded.ok).toBe(/^wss?:\/\/[^\s]+$/.test(url));
        if (decoded.ok) expect(decoded.value.url).toBe(url);
      }),
      RUNS,
    );
  });

  /** A plausible header (right type and length most of the time) in front of arbitrary bytes. */
  const createLike = (sizes: number[]) =>
    fc
      .record({
        type: fc.oneof(fc.constant(HANDSHAKE_TYPE_NTOR), fc.nat(0xffff)),
        length: fc.oneof(fc.constantFrom(...sizes), fc.nat(0xffff)),
        rest: fc.uint8Array({ maxLength: CELL_BODY_SIZE, size: 'max' }),
      })
      .map(({ type, length, rest }) => {
        const out = new Uint8Array(4 + rest.length);
        writeU16(out, 0, type);
        writeU16(out, 2, length);
        out.set(rest, 4);
        return out;
      });

  /** HLEN (64 most of the time) in front of arbitrary bytes. */
  const createdLike = fc
    .tuple(fc.oneof(fc.constant(SERVER_HANDSHAKE_SIZE), fc.nat(0xffff)), fc.uint8Array({ maxLength: CELL_BODY_SIZE, size: 'max' }))
    .map(([length, rest]) => {
      const out = new Uint8Array(2 + rest.length);
      writeU16(out, 0, length);
      out.set(rest, 2);
      return out;
    });

  it('EXTEND URL limit: 255 bytes pass, 256 are refused', () => {
    const handshake = new Uint8Array(CLIENT_HANDSHAKE_SIZE).fill(7);
    const longest = 'wss://' + 'a'.repeat(MAX_EXTEND_URL_BYTES - 6);
    expect(decodeExtend(encodeExtend({ url: longest, handshake })).url).toBe(longest);
    expectRefused(() => encodeExtend({ url: longest + 'a', handshake }));
    const tooLong = concatBytes(encodeCreate(handshake), new Uint8Array(2), utf8(longest + 'a'));
    writeU16(tooLong, 4 + CLIENT_HANDSHAKE_SIZE, MAX_EXTEND_URL_BYTES + 1);
    expectRefused(() => decodeExtend(tooLong));
  });

  it('decodeCreate / decodeCreated on arbitrary bytes throw nothing but TpdpError', () => {
    fc.assert(
      fc.property(fc.oneof(createLike([CLIENT_HANDSHAKE_SIZE]), createdLike, fc.uint8Array({ maxLength: CELL_BODY_SIZE, size: 'max' })), (bytes) => {
        const create = attempt(() => decodeCreate(bytes));
        if (create.ok) {
          expect(create.value).toHaveLength(CLIENT_HANDSHAKE_SIZE);
          expect(toHex(bytes).startsWith(toHex(encodeCreate(create.value)))).toBe(true);
        }
        const created = attempt(() => decodeCreated(bytes));
        if (created.ok) {
          expect(created.value).toHaveLength(SERVER_HANDSHAKE_SIZE);
          expect(toHex(bytes).startsWith(toHex(encodeCreated(created.value)))).toBe(true);
        }
      }),
      RUNS,
    );
    // Short bodies, including ones too short to hold the length fields.
    for (let n = 0; n < 8; n++) {
      expectRefused(() => decodeCreate(new Uint8Array(n)));
      expectRefused(() => decodeCreated(new Uint8Array(n)));
    }
  });

  it('decodeExtend on arbitrary and mutated bytes throws nothing but TpdpError, and what it accepts is canonical', () => {
    const validExtend = fc.tuple(validRelayUrl, clientHandshake).map(([url, handshake]) => encodeExtend({ url, handshake }));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(validExtend, edits).map(([bytes, e]) => mutated(bytes, e)),
          fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 400 })).map(([head, rest]) => concatBytes(head, rest)),
          fc.uint8Array({ maxLength: CELL_BODY_SIZE, size: 'max' }),
        ),
        (bytes) => {
          const outcome = attempt(() => decodeExtend(bytes));
          if (outcome.ok) expect(toHex(encodeExtend(outcome.value))).toBe(toHex(bytes));
        },
      ),
      RUNS,
    );
  });
});

const TOKEN_CHARS = [..."!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"];
const VALUE_CHARS = ['\t', ...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)), ...Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i))];
const token = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 20, size: 'max' });
const headerList = fc.array(fc.tuple(token, fc.string({ unit: fc.constantFrom(...VALUE_CHARS), maxLength: 40, size: 'max' })), { maxLength: 20, size: 'max' });
const requestHead: fc.Arbitrary<RequestHead> = fc.record({ method: token, url: fc.string({ unit: 'binary', maxLength: 200, size: 'max' }), headers: headerList });
const responseHead: fc.Arbitrary<ResponseHead> = fc.record({ status: fc.integer({ min: 200, max: 599 }), statusText: fc.stringMatching(/^[\t\x20-\x7e]{0,60}$/), headers: headerList });

/** Feeds chunks to a fresh collector; returns its result and the bytes it had not been given yet. */
function collect(chunks: Uint8Array[]): Outcome<{ head: string; after: string } | undefined> {
  const collector = new HeadCollector();
  return attempt(() => {
    for (let i = 0; i < chunks.length; i++) {
      const done = collector.push(chunks[i]);
      if (done) return { head: toHex(done.head), after: toHex(concatBytes(done.rest, ...chunks.slice(i + 1))) };
    }
    return undefined;
  });
}

/** What a HeadCollector must make of a whole stream, written from the format description. */
function expectedCollect(stream: Uint8Array): Outcome<{ head: string; after: string } | undefined> {
  if (stream.length < 4) return { ok: true, value: undefined };
  const length = readU32(stream, 0);
  if (length > MAX_HEAD_BYTES) return { ok: false, error: new TpdpError('PROTOCOL_ERROR') };
  if (stream.length < 4 + length) return { ok: true, value: undefined };
  return { ok: true, value: { head: toHex(stream.subarray(4, 4 + length)), after: toHex(stream.subarray(4 + length)) } };
}

describe('fetch heads: encode / decode / HeadCollector', () => {
  it('request heads round-trip through HeadCollector and decodeRequestHead', () => {
    fc.assert(
      fc.property(requestHead, fc.uint8Array({ maxLength: 50, size: 'max' }), (head, body) => {
        const encoded = encodeRequestHead(head);
        expect(readU32(encoded, 0)).toBe(encoded.length - 4);
        expect(encoded[4]).toBe(FETCH_CODEC_VERSION);
        const done = new HeadCollector().push(concatBytes(encoded, body));
        expect(done).toBeDefined();
        expect(toHex(done!.rest)).toBe(toHex(body));
        expect(decodeRequestHead(done!.head)).toEqual(head);
      }),
      RUNS,
    );
  });

  it('response heads round-trip through HeadCollector and decodeResponseHead', () => {
    fc.assert(
      fc.property(responseHead, (head) => {
        const encoded = encodeResponseHead(head);
        expect(readU32(encoded, 0)).toBe(encoded.length - 4);
        const done = new HeadCollector().push(encoded);
        expect(done).toBeDefined();
        expect(done!.rest).toHaveLength(0);
        expect(decodeResponseHead(done!.head)).toEqual(head);
      }),
      RUNS,
    );
  });

  it('encoders refuse invalid methods, header names and values with TpdpError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 10 }), (method, name, value) => {
        const methodOk = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method);
        const headerOk = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) && /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
        expect(attempt(() => encodeRequestHead({ method, url: '/', headers: [] })).ok).toBe(methodOk);
        expect(attempt(() => encodeRequestHead({ method: 'GET', url: '/', headers: [[name, value]] })).ok).toBe(headerOk);
        expect(attempt(() => encodeResponseHead({ status: 200, statusText: '', headers: [[name, value]] })).ok).toBe(headerOk);
      }),
      RUNS,
    );
    expectRefused(() => encodeRequestHead({ method: 'GET', url: '/', headers: [['X-Injected', 'a\r\nSet-Cookie: b']] }));
  });

  /** Valid heads (with their HEADLEN prefix stripped) mutated, plus raw arbitrary bytes. */
  const headBytes = (valid: fc.Arbitrary<Uint8Array>) =>
    fc.oneof(
      fc.tuple(valid, edits).map(([bytes, e]) => mutated(bytes.subarray(4), e)),
      fc.uint8Array({ maxLength: 200, size: 'max' }).map((rest) => concatBytes(Uint8Array.of(FETCH_CODEC_VERSION), rest)),
      fc.uint8Array({ maxLength: 200, size: 'max' }),
    );

  it('decodeRequestHead on arbitrary bytes throws nothing but TpdpError, and what it accepts is canonical', () => {
    fc.assert(
      fc.property(headBytes(requestHead.map(encodeRequestHead)), (bytes) => {
        const outcome = attempt(() => decodeRequestHead(bytes));
        if (outcome.ok) expect(toHex(encodeRequestHead(outcome.value).subarray(4))).toBe(toHex(bytes));
      }),
      RUNS,
    );
  });

  it('decodeResponseHead on arbitrary bytes throws nothing but TpdpError, and what it accepts is canonical', () => {
    fc.assert(
      fc.property(headBytes(responseHead.map(encodeResponseHead)), (bytes) => {
        const outcome = attempt(() => decodeResponseHead(bytes));
        if (outcome.ok) {
          expect(outcome.value.status).toBeGreaterThanOrEqual(200);
          expect(outcome.value.status).toBeLessThanOrEqual(599);
          expect(toHex(encodeResponseHead(outcome.value).subarray(4))).toBe(toHex(bytes));
        }
      }),
      RUNS,
    );
  });

  it('enforces the field, header-count and head-size limits on both sides', () => {
    const statusText = 'x'.repeat(255);
    expect(decodeResponseHead(encodeResponseHead({ status: 200, statusText, headers: [] }).subarray(4)).statusText).toBe(statusText);
    expectRefused(() => encodeResponseHead({ status: 200, statusText: statusText + 'x', headers: [] }));
    expectRefused(() => encodeResponseHead({ status: 200, statusText: 'é'.repeat(128), headers: [] }));
    const headers = Array.from({ length: 256 }, (_, i): [string, string] => [`x-h${i}`, 'v']);
    expect(decodeRequestHead(encodeRequestHead({ method: 'GET', url: '/', headers }).subarray(4)).headers).toEqual(headers);
    expectRefused(() => encodeRequestHead({ method: 'GET', url: '/', headers: [...headers, ['x-one-more', 'v']] }));
    // A head that claims 257 headers is refused by the decoder before it reads them.
    const claimed = encodeRequestHead({ method: 'GET', url: '/', headers: [] }).subarray(4);
    writeU16(claimed, claimed.length - 2, 257);
    expectRefused(() => decodeRequestHead(claimed));
    const big = 'v'.repeat(60_000);
    expectRefused(() => encodeRequestHead({ method: 'GET', url: '/', headers: [['a', big], ['b', big]] }));
    const prefix = new Uint8Array(4);
    writeU32(prefix, 0, MAX_HEAD_BYTES + 1);
    expectRefused(() => new HeadCollector().push(prefix));
  });

  it('decodeResponseHead refuses informational and out-of-range statuses', () => {
    for (const status of [0, 100, 101, 199, 600, 999, 65535]) {
      const encoded = encodeResponseHead({ status, statusText: '', headers: [] });
      expectRefused(() => decodeResponseHead(encoded.subarray(4)));
    }
  });

  it('HeadCollector gives the same result however a valid stream is split', () => {
    fc.assert(
      fc.property(requestHead, fc.uint8Array({ maxLength: 100, size: 'max' }), fc.array(fc.nat(600), { maxLength: 12, size: 'max' }), (head, body, cuts) => {
        const encoded = encodeRequestHead(head);
        const stream = concatBytes(encoded, body);
        const outcome = collect(chunk(stream, cuts));
        expect(outcome).toEqual({ ok: true, value: { head: toHex(encoded.subarray(4)), after: toHex(body) } });
      }),
      RUNS,
    );
  });

  it('HeadCollector on arbitrary chunked bytes throws nothing but TpdpError and agrees with a whole-stream reading', () => {
    const stream = fc.oneof(
      fc.tuple(fc.oneof(fc.nat(300), fc.integer({ min: MAX_HEAD_BYTES - 2, max: MAX_HEAD_BYTES + 2 }), u32), fc.uint8Array({ maxLength: 400, size: 'max' })).map(([length, rest]) => {
        const prefix = new Uint8Array(4);
        writeU32(prefix, 0, length);
        return concatBytes(prefix, rest);
      }),
      fc.uint8Array({ maxLength: 50, size: 'max' }),
    );
    fc.assert(
      fc.property(stream, fc.array(fc.nat(450), { maxLength: 12, size: 'max' }), fc.array(fc.nat(450), { maxLength: 12, size: 'max' }), (bytes, cutsA, cutsB) => {
        const expected = expectedCollect(bytes);
        const a = collect(chunk(bytes, cutsA));
        const b = collect(chunk(bytes, cutsB));
        expect(a.ok).toBe(expected.ok);
        expect(b.ok).toBe(expected.ok);
        if (a.ok && expected.ok) expect(a.value).toEqual(expected.value);
        if (b.ok && expected.ok) expect(b.value).toEqual(expected.value);
        if (!a.ok) expect(a.error.code).toBe('PROTOCOL_ERROR');
      }),
      RUNS,
    );
  });
});

const B64_ALPHABET = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

describe('base64url', () => {
  it('fromBase64Url(toBase64Url(x)) is x, and the encoding is RFC 4648 §5 without padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200, size: 'max' }), (bytes) => {
        const text = toBase64Url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64url'));
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(toHex(fromBase64Url(text))).toBe(toHex(bytes));
      }),
      RUNS,
    );
  });

  it('accepts only canonical text: whatever decodes re-encodes to the same text', () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(...B64_ALPHABET), maxLength: 40, size: 'max' }),
      fc.string({ unit: fc.constantFrom(...B64_ALPHABET, '=', '+', '/', ' ', '\n', '.', 'é'), maxLength: 40, size: 'max' }),
    );
    fc.assert(
      fc.property(text, (s) => {
        let decoded: Uint8Array | undefined;
        try {
          decoded = fromBase64Url(s);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
        const canonical = /^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1 && toBase64Url(Buffer.from(s, 'base64url')) === s;
        expect(decoded !== undefined).toBe(canonical);
        if (decoded) expect(toBase64Url(decoded)).toBe(s);
      }),
      RUNS,
    );
  });

  it.each(['QQ=', 'QQ==', 'QR', 'QUF', 'QUG', 'Q', 'QUFBQ', 'a+b/', 'QU FB', 'QUFB\n'])('refuses the non-canonical or foreign %j', (text) => {
    expect(() => fromBase64Url(text)).toThrow();
  });
});

type WindowOp = 'sent' | 'ack';

describe('flow-control windows', () => {
  const sizes = fc.integer({ min: 1, max: 30 }).chain((start) => fc.record({ start: fc.constant(start), increment: fc.integer({ min: 1, max: start }) }));

  it('PackageWindow: SENDME is refused exactly when it would raise the window above its start', () => {
    fc.assert(
      fc.property(sizes, fc.array(fc.constantFrom<WindowOp>('sent', 'sent', 'ack'), { maxLength: 200, size: 'max' }), ({ start, increment }, ops) => {
        const window = new PackageWindow(start, increment);
        let model = start;
        for (const op of ops) {
          if (op === 'sent') {
            if (!window.open) continue; // a well-behaved sender stops at zero
            window.sent();
            model--;
          } else {
            const outcome = attempt(() => window.acknowledge());
            check(outcome.ok === (model + increment <= start), `acknowledge() at window ${model}: ok=${outcome.ok}`);
            if (outcome.ok) model += increment;
          }
          check(model <= start && model >= 0, `window ${model} outside 0..${start}`);
          check(window.open === model > 0, `open=${window.open} at window ${model}`);
        }
        // The window really is `model`: exactly that many more cells may be sent.
        let more = 0;
        while (window.open && more <= start) {
          window.sent();
          more++;
        }
        expect(more).toBe(model);
      }),
      RUNS,
    );
  });

  it('DeliverWindow: received() throws exactly when the peer exceeds the window', () => {
    fc.assert(
      fc.property(sizes, fc.array(fc.constantFrom('received', 'received', 'consumed'), { maxLength: 200, size: 'max' }), ({ start, increment }, ops) => {
        const window = new DeliverWindow(start, increment);
        let credit = start; // cells the peer may still send
        let unconsumed = 0;
        let sinceAck = 0;
        for (const op of ops) {
          if (op === 'received') {
            const outcome = attempt(() => window.received());
            check(outcome.ok === credit > 0, `received() with credit ${credit}: ok=${outcome.ok}`);
            if (outcome.ok) {
              credit--;
              unconsumed++;
            }
          } else if (unconsumed > 0) {
            unconsumed--;
            sinceAck++;
            const due = window.consumed();
            check(due === (sinceAck === increment), `consumed() #${sinceAck} since the last SENDME returned ${due}`);
            if (due) {
              sinceAck = 0;
              credit += increment;
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('a sender and a receiver: the receiver refuses exactly the cells sent while the sender’s window was closed', () => {
    fc.assert(
      fc.property(sizes, fc.array(fc.constantFrom('send', 'send', 'consume'), { maxLength: 300, size: 'max' }), ({ start, increment }, ops) => {
        const sender = new PackageWindow(start, increment);
        const receiver = new DeliverWindow(start, increment);
        let unconsumed = 0;
        for (const op of ops) {
          if (op === 'send') {
            const allowed = sender.open;
            if (allowed) sender.sent();
            // A sender that ignores its window reaches the receiver too: it must be refused.
            const outcome = attempt(() => receiver.received());
            check(outcome.ok === allowed, `receiver ok=${outcome.ok} but sender window open=${allowed}`);
            if (outcome.ok) unconsumed++;
          } else if (unconsumed > 0) {
            unconsumed--;
            // Every SENDME the receiver emits is acceptable to a sender that respected its window.
            if (receiver.consumed()) sender.acknowledge();
          }
        }
      }),
      RUNS,
    );
  });

  it('uses the windows of TPDP §5.4, with real constants: 960/96 per circuit and 480/48 per stream', () => {
    expect([CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT, STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT]).toEqual([960, 96, 480, 48]);
    for (const [start, increment] of [
      [CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT],
      [STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT],
    ]) {
      const receiver = new DeliverWindow(start, increment);
      for (let i = 0; i < start; i++) receiver.received();
      expectRefused(() => receiver.received());
      let sendmes = 0;
      for (let i = 0; i < start; i++) if (receiver.consumed()) sendmes++;
      expect(sendmes).toBe(start / increment);
      const sender = new PackageWindow(start, increment);
      expectRefused(() => sender.acknowledge());
      for (let i = 0; i < increment; i++) sender.sent();
      sender.acknowledge();
      expectRefused(() => sender.acknowledge());
    }
  });
});
