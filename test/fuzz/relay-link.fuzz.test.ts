// Fuzzing a relay node with hostile links (in memory, real RelayNode): arbitrary link messages,
// arbitrary cell sequences and arbitrary CREATE bodies. The node must never throw, must close
// only the hostile link (and only for the reasons TPDP §3 gives), must answer every CREATE with
// exactly CREATED or DESTROY, must hold nothing once the hostile peer leaves, and must keep
// serving a good circuit on another link.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOffset, CELL_BODY_SIZE, CELL_COMMANDS, CELL_SIZE, headerOffset, MAX_CELLS_PER_MESSAGE } from '../../shared/cell.ts';
import { decodeCreated, encodeCreate } from '../../shared/control-cells.ts';
import { REASONS, reasonName } from '../../shared/errors.ts';
import { clientHandshakeFinish, clientHandshakeStart, HANDSHAKE_TYPE_NTOR, type ClientHandshakeState } from '../../shared/handshake.ts';
import { writeU16, writeU32 } from '../../shared/bytes.ts';
import { nodeCrypto } from '../../node/crypto.ts';
import { recordFigure } from '../support/figures.ts';
import { hostileLink } from '../support/hostile-link.ts';
import { echoExit, memoryNetwork } from '../support/memory-network.ts';
import { echoesIntact, memoryCircuit } from '../support/memory-circuit.ts';
import { bytes, seededBytes } from './bytes.ts';
import { LOW_ORDER_POINTS_HEX } from '../vectors/x25519-low-order.ts';
import { fuzzParameters, fuzzRuns, fuzzTimeout } from './runs.ts';

const MESSAGE_RUNS = 6_000;
const SEQUENCE_RUNS = 5_000;
const CREATE_RUNS = 6_000;

const net = memoryNetwork(['a', 'b', 'c'], { crypto: nodeCrypto, exit: echoExit });
const a = net.relays.get('a')!;
let good: Awaited<ReturnType<typeof memoryCircuit>>;

const LOW_ORDER_POINTS = LOW_ORDER_POINTS_HEX.map((hex) => Uint8Array.from(Buffer.from(hex, 'hex')));

/** Valid client handshakes for relay a; reusing an X is legal, and keygen is the costly part. */
const handshakes: { state: ClientHandshakeState; message: Uint8Array }[] = Array.from({ length: 64 }, () =>
  clientHandshakeStart(nodeCrypto, a.keys.identity.publicKey, a.keys.onion.publicKey),
);
const validCreates = handshakes.map((h) => encodeCreate(h.message));

/** A message of these cells in the TPDP layout, however many and whatever their body sizes (encodeMessage refuses both beyond the limits). */
function cells(specs: { circuitId: number; command: number; body: Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(specs.length * CELL_SIZE);
  specs.forEach((spec, i) => {
    writeU32(out, headerOffset(i), spec.circuitId);
    out[headerOffset(i) + 4] = spec.command;
    out.set(spec.body.subarray(0, CELL_BODY_SIZE), bodyOffset(specs.length, i));
  });
  return out;
}

const u32 = fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([high, low]) => high * 0x10000 + low);
const knownCommand = fc.constantFrom(...Object.values(CELL_COMMANDS));
const anyCommand = fc.oneof({ weight: 30, arbitrary: knownCommand }, { weight: 1, arbitrary: fc.integer({ min: 6, max: 255 }) });
const mutatedCreate = fc
  .tuple(fc.nat(validCreates.length - 1), fc.array(fc.tuple(fc.nat(CELL_BODY_SIZE - 1), fc.nat(255)), { minLength: 1, maxLength: 3 }))
  .map(([i, edits]) => {
    const body = new Uint8Array(CELL_BODY_SIZE);
    body.set(validCreates[i]);
    for (const [at, value] of edits) body[at % 110] = value;
    return body;
  });
const body = fc.oneof(
  fc.constant(new Uint8Array(0)),
  bytes(CELL_BODY_SIZE),
  fc.nat(validCreates.length - 1).map((i) => validCreates[i]),
  mutatedCreate,
  fc.nat(255).map((reason) => Uint8Array.of(reason)),
);
const cellSpec = fc.record({ circuitId: fc.oneof(fc.constantFrom(0, 1, 2, 3), u32), command: anyCommand, body });

/** A message: whole cells, sometimes too many, or raw bytes of any length. */
const message = fc.oneof(
  { weight: 6, arbitrary: fc.array(cellSpec, { minLength: 1, maxLength: 8 }).map(cells) },
  { weight: 1, arbitrary: cellSpec.map((c) => cells(Array.from({ length: MAX_CELLS_PER_MESSAGE + 1 }, () => c))) },
  { weight: 2, arbitrary: bytes(3 * CELL_SIZE + 10) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer()).map(([cells, seed]) => seededBytes(seed, cells * CELL_SIZE)) },
).map((bytes) => new Uint8Array(bytes));


const KNOWN = new Set<number>(Object.values(CELL_COMMANDS));

/**
 * What TPDP §3 says the node does with these messages: close the link (bad framing, unknown
 * command, CREATED toward a relay, CREATE with circuit id 0), keep it open, or — once a CREATE
 * reuses an id whose earlier circuit may or may not still exist — either.
 */
function expectedClose(messages: Uint8Array[]): 'close' | 'open' | 'either' {
  const created = new Set<number>();
  for (const m of messages) {
    if (m.length === 0 || m.length % CELL_SIZE !== 0 || m.length > MAX_CELLS_PER_MESSAGE * CELL_SIZE) return 'close';
    const count = m.length / CELL_SIZE;
    for (let i = 0; i < count; i++) if (!KNOWN.has(m[headerOffset(i) + 4])) return 'close';
    for (let i = 0; i < count; i++) {
      const id = Buffer.from(m.buffer, m.byteOffset + headerOffset(i), 4).readUInt32BE(0);
      const command = m[headerOffset(i) + 4];
      if (command === CELL_COMMANDS.CREATED) return 'close';
      if (command !== CELL_COMMANDS.CREATE) continue;
      if (id === 0) return 'close';
      if (created.has(id)) return 'either';
      created.add(id);
    }
  }
  return 'open';
}

// Links flush once per round of I/O (setImmediate in Node), so wait for one.
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const REFUSALS = new Set<number>([REASONS.PROTOCOL_ERROR, REASONS.INTEGRITY_ERROR, REASONS.RESOURCE_LIMIT]);

describe('a relay node fed hostile links', () => {
  beforeAll(async () => {
    good = await memoryCircuit(net, ['a', 'b', 'c']);
  });

  afterAll(async () => {
    // Whatever the fuzzers sent, the good circuit's link never closed and it still carries data.
    expect(good.linkCloses).toEqual([]);
    expect(good.closed).toEqual([]);
    expect(await echoesIntact(good.circuit, 50_000)).toBe(true);
    // Every hostile link has gone, and with it everything it created: only the good circuit is left.
    expect(a.node.stats()).toMatchObject({ links: 2, circuits: 1 });
  });

  it(
    'arbitrary link messages: never throws, closes only that link and only when TPDP says so',
    async () => {
      const counts = { close: 0, open: 0, either: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 5 }), async (messages) => {
          const peer = hostileLink(a.node);
          for (const m of messages) peer.send(m);
          await flush();
          const expected = expectedClose(messages);
          counts[expected]++;
          expect(peer.closes.length).toBeLessThanOrEqual(1);
          if (expected === 'close') expect(peer.closes[0]).toMatch(/^4001 PROTOCOL_ERROR: /);
          if (expected === 'open') expect(peer.closes).toEqual([]);
          for (const reply of peer.replies()) {
            expect([CELL_COMMANDS.CREATED, CELL_COMMANDS.DESTROY]).toContain(reply.command);
            if (reply.command === CELL_COMMANDS.DESTROY) expect(REFUSALS.has(reply.body[0]), reasonName(reply.body[0])).toBe(true);
          }
          peer.hangUp();
          expect(a.node.stats().circuits).toBe(1);
        }),
        fuzzParameters(MESSAGE_RUNS),
      );
      expect(counts.close).toBeGreaterThan(0);
      expect(counts.open).toBeGreaterThan(0);
      recordFigure('fuzz relay link messages', { cases: fuzzRuns(MESSAGE_RUNS), ...counts, crashes: 0 });
    },
    fuzzTimeout(MESSAGE_RUNS, 1),
  );

  it(
    'arbitrary cell sequences on circuits the hostile peer created: every CREATE answered once, nothing leaks',
    async () => {
      let circuitsCreated = 0;
      // Valid CREATEs, then anything on those circuits and others, in cells that frame correctly.
      const sequence = fc.array(
        fc.record({
          circuitId: fc.integer({ min: 1, max: 6 }),
          command: knownCommand.filter((c) => c !== CELL_COMMANDS.CREATED),
          body,
        }),
        { minLength: 1, maxLength: 24 },
      );
      await fc.assert(
        fc.asyncProperty(sequence, async (sequenceCells) => {
          const peer = hostileLink(a.node);
          const creates = new Map<number, number>();
          for (const c of sequenceCells) {
            if (c.command === CELL_COMMANDS.CREATE) creates.set(c.circuitId, (creates.get(c.circuitId) ?? 0) + 1);
            peer.send(cells([c]));
            if (peer.closes.length > 0) break;
          }
          await flush();
          const replies = peer.replies();
          if (peer.closes.length === 0) {
            // Each CREATE was answered on its id, by CREATED or DESTROY; a later DESTROY may tear a
            // created circuit down again, but nothing is ever created that was not asked for.
            for (const [id, count] of creates) {
              const onId = replies.filter((r) => r.circuitId === id);
              expect(onId.length).toBeGreaterThanOrEqual(count);
              expect(onId.filter((r) => r.command === CELL_COMMANDS.CREATED).length).toBeLessThanOrEqual(count);
            }
          } else {
            // The only way to have this link closed here: a CREATE on an id still in use.
            expect(peer.closes[0]).toMatch(/^4001 PROTOCOL_ERROR: CREATE for circuit id \d+ already in use/);
          }
          for (const reply of replies) {
            expect([CELL_COMMANDS.CREATED, CELL_COMMANDS.DESTROY]).toContain(reply.command);
            if (reply.command === CELL_COMMANDS.CREATED) circuitsCreated++;
            else expect(REFUSALS.has(reply.body[0]), reasonName(reply.body[0])).toBe(true);
          }
          peer.hangUp();
          expect(a.node.stats().circuits).toBe(1);
        }),
        fuzzParameters(SEQUENCE_RUNS),
      );
      expect(circuitsCreated).toBeGreaterThan(0);
      recordFigure('fuzz relay cell sequences', { cases: fuzzRuns(SEQUENCE_RUNS), circuitsCreated, crashes: 0 });
    },
    fuzzTimeout(SEQUENCE_RUNS, 2),
  );

  it(
    'arbitrary CREATE bodies: CREATED exactly for a well-formed handshake meant for this relay, DESTROY PROTOCOL_ERROR otherwise',
    async () => {
      const identity = a.keys.identity.publicKey;
      const onion = a.keys.onion.publicKey;
      const other = nodeCrypto.x25519Keygen().publicKey;
      const createBody = fc.oneof(
        // Structured: each field right or wrong.
        fc.record({
          type: fc.oneof(fc.constant(HANDSHAKE_TYPE_NTOR), fc.nat(0xffff)),
          length: fc.oneof(fc.constant(96), fc.constantFrom(0, 64, 95, 97, 403, 0xffff), fc.nat(0xffff)),
          id: fc.oneof(fc.constant(identity), fc.constant(other), bytes(32, 32)),
          onion: fc.oneof(fc.constant(onion), fc.constant(other), bytes(32, 32)),
          x: fc.oneof(
            fc.nat(handshakes.length - 1).map((i) => ({ known: i, bytes: handshakes[i].message.subarray(64) })),
            fc.constantFrom(...LOW_ORDER_POINTS).map((bytes) => ({ known: -1, bytes })),
            bytes(32, 32).map((bytes) => ({ known: -1, bytes })),
          ),
          tail: bytes(8),
        }).map((f) => {
          const bytes = new Uint8Array(CELL_BODY_SIZE);
          writeU16(bytes, 0, f.type);
          writeU16(bytes, 2, f.length);
          bytes.set(f.id, 4);
          bytes.set(f.onion, 36);
          bytes.set(f.x.bytes, 68);
          bytes.set(f.tail, 100);
          const valid = f.type === HANDSHAKE_TYPE_NTOR && f.length === 96 && Buffer.from(f.id).equals(identity) && Buffer.from(f.onion).equals(onion) && !LOW_ORDER_POINTS.some((p) => Buffer.from(p).equals(f.x.bytes));
          return { bytes, valid: valid ? ('yes' as const) : ('no' as const), known: f.x.known };
        }),
        // Unstructured: random bytes (almost never valid) and valid bodies with bytes overwritten.
        bytes(CELL_BODY_SIZE, CELL_BODY_SIZE).map((bytes) => ({ bytes, valid: 'no' as const, known: -1 })),
        mutatedCreate.map((bytes) => ({ bytes, valid: 'maybe' as const, known: -1 })),
      );
      const outcomes = { created: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(createBody, u32.filter((id) => id !== 0), async ({ bytes, valid, known }, circuitId) => {
          const peer = hostileLink(a.node);
          peer.send(cells([{ circuitId, command: CELL_COMMANDS.CREATE, body: bytes }]));
          await flush();
          expect(peer.closes).toEqual([]);
          const replies = peer.replies();
          expect(replies).toHaveLength(1);
          const [reply] = replies;
          expect(reply.circuitId).toBe(circuitId);
          if (reply.command === CELL_COMMANDS.CREATED) {
            outcomes.created++;
            expect(valid).not.toBe('no');
            // The relay's answer is a real ntor answer: the client completes the handshake with it.
            if (known >= 0) expect(() => clientHandshakeFinish(nodeCrypto, handshakes[known].state, decodeCreated(reply.body))).not.toThrow();
          } else {
            outcomes.refused++;
            expect(reply.command).toBe(CELL_COMMANDS.DESTROY);
            expect(reply.body[0]).toBe(REASONS.PROTOCOL_ERROR);
            expect(valid).not.toBe('yes');
          }
          peer.hangUp();
        }),
        fuzzParameters(CREATE_RUNS),
      );
      expect(outcomes.created).toBeGreaterThan(0);
      expect(outcomes.refused).toBeGreaterThan(0);
      recordFigure('fuzz CREATE bodies (handshake)', { cases: fuzzRuns(CREATE_RUNS), ...outcomes, crashes: 0 });
    },
    fuzzTimeout(CREATE_RUNS, 1),
  );
});
