// Fuzzing the exit's stream layer through a real circuit (in memory): a client that completed the
// handshake sends arbitrary, correctly authenticated relay messages — any command, stream id,
// length field and data, in any order. The relay may destroy that circuit for a protocol
// violation, but never with INTERNAL_ERROR (an exception it did not expect), never leaks a stream
// or a circuit, and keeps serving a good circuit through the same exit.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBegin } from '../../shared/begin.ts';
import { writeU16 } from '../../shared/bytes.ts';
import { CELL_BODY_SIZE, CELL_COMMANDS } from '../../shared/cell.ts';
import type { ClientCircuit } from '../../shared/client/circuit.ts';
import { encodeExtend } from '../../shared/control-cells.ts';
import { REASONS, reasonName, type ReasonName } from '../../shared/errors.ts';
import { clientHandshakeStart } from '../../shared/handshake.ts';
import type { HopCrypto } from '../../shared/hop-crypto.ts';
import type { Link } from '../../shared/link.ts';
import { RELAY_COMMANDS, RELAY_DATA_MAX, RELAY_OFFSET } from '../../shared/relay-cell.ts';
import type { CircuitStream } from '../../shared/stream.ts';
import { nodeCrypto } from '../../node/crypto.ts';
import { recordFigure } from '../support/figures.ts';
import { echoExit, memoryNetwork } from '../support/memory-network.ts';
import { echoesIntact, memoryCircuit } from '../support/memory-circuit.ts';
import { bytes } from './bytes.ts';
import { fuzzParameters, fuzzRuns, fuzzTimeout } from './runs.ts';

const RUNS = 1_500;

/** An exit whose behaviour the client picks by host name, so every stream state is reachable. */
function scriptedExit(stream: CircuitStream, request: { kind: string; host?: string }): void {
  const host = request.kind === 'connect' ? request.host : 'echo.test';
  if (host === 'refuse.test') return stream.close('EXIT_POLICY_REFUSED');
  if (host === 'hold.test') return; // never answers: the stream stays opening
  if (host === 'finish.test') {
    stream.accept();
    stream.write(new Uint8Array(3000).fill(7));
    return stream.finish();
  }
  echoExit(stream);
}

const net = memoryNetwork(['a', 'b', 'c'], { crypto: nodeCrypto, exit: scriptedExit });
const exit = net.relays.get('c')!;
let good: Awaited<ReturnType<typeof memoryCircuit>>;

const HOSTS = ['echo.test', 'refuse.test', 'hold.test', 'finish.test'];
const streamId = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(1, 2, 3) }, { weight: 1, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(0xffff) });
// Handshakes are the costly part of a case: EXTEND bodies are made once.
const extends_ = ['a', 'b'].map((name) => {
  const relay = net.relays.get(name)!;
  return encodeExtend({ url: relay.url, handshake: clientHandshakeStart(nodeCrypto, relay.keys.identity.publicKey, relay.keys.onion.publicKey).message });
});
const dataFor = (command: number) =>
  fc.oneof(
    { weight: 3, arbitrary: bytes(RELAY_DATA_MAX) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    ...(command === RELAY_COMMANDS.BEGIN
      ? [{ weight: 6, arbitrary: fc.oneof(fc.constant(encodeBegin({ kind: 'fetch' })), fc.constantFrom(...HOSTS).map((host) => encodeBegin({ kind: 'connect', host, port: 7 }))) }]
      : []),
    ...(command === RELAY_COMMANDS.END ? [{ weight: 4, arbitrary: fc.nat(255).map((r) => Uint8Array.of(r)) }] : []),
    ...(command === RELAY_COMMANDS.EXTEND ? [{ weight: 4, arbitrary: fc.constantFrom(...extends_) }] : []),
  );
const relayCommand = fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...Object.values(RELAY_COMMANDS)) }, { weight: 1, arbitrary: fc.nat(255) });
const relayMessage = relayCommand.chain((command) =>
  fc.record({
    command: fc.constant(command),
    streamId,
    data: dataFor(command),
    /** Sometimes a LENGTH that lies about the data (beyond a cell, or beyond what was written). */
    length: fc.oneof({ weight: 12, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
    early: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    /** Repeat the message to reach windows and limits (DATA floods, 300 BEGINs). */
    repeat: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 300 }) }),
  }),
);

interface HostileCircuit {
  circuit: ClientCircuit;
  link: Link;
  hop: HopCrypto;
  destroyed?: ReasonName;
}

/** A one-hop circuit to the exit whose incoming cells we only watch for DESTROY. */
async function hostileCircuit(id: number): Promise<HostileCircuit> {
  const { circuit, link } = await memoryCircuit(net, ['c'], id);
  const hostile: HostileCircuit = { circuit, link, hop: (circuit as unknown as { hops: HopCrypto[] }).hops[0] };
  link.handlers = {
    onCells: (cells) => {
      for (const cell of cells) if (cell.command === CELL_COMMANDS.DESTROY) hostile.destroyed ??= reasonName(cell.body[0]);
    },
    onClose: () => {
      hostile.destroyed ??= 'LINK_CLOSED';
    },
  };
  return hostile;
}

/** Seals and encrypts a relay body exactly as a client does, whatever its fields say. */
function sendRaw(target: HostileCircuit, message: { command: number; streamId: number; data: Uint8Array; length: number; early: boolean }): void {
  const body = new Uint8Array(CELL_BODY_SIZE);
  body[RELAY_OFFSET.command] = message.command;
  writeU16(body, RELAY_OFFSET.streamId, message.streamId);
  writeU16(body, RELAY_OFFSET.length, message.length >= 0 ? message.length : message.data.length);
  body.set(message.data, RELAY_OFFSET.data);
  target.hop.forwardTags.seal(body);
  target.hop.forward.xorInPlace(body);
  target.link.send(target.circuit.circuitId, message.early ? CELL_COMMANDS.RELAY_EARLY : CELL_COMMANDS.RELAY, body);
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
/** What a relay may answer a misbehaving client with; INTERNAL_ERROR would be a bug. */
const ALLOWED = new Set<ReasonName>(['PROTOCOL_ERROR', 'RESOURCE_LIMIT', 'HOP_UNREACHABLE', 'TIMEOUT_ERROR']);

describe('the exit fed arbitrary authenticated relay messages', () => {
  beforeAll(async () => {
    good = await memoryCircuit(net, ['a', 'b', 'c']);
  });

  afterAll(async () => {
    expect(good.closed).toEqual([]);
    expect(await echoesIntact(good.circuit, 100_000)).toBe(true);
  });

  it(
    'destroys a violating circuit with a protocol reason, never INTERNAL_ERROR, and leaks nothing',
    async () => {
      let nextId = 100;
      let builds = 1;
      let target = await hostileCircuit(nextId++);
      const reasons = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.array(relayMessage, { minLength: 1, maxLength: 20 }), async (messages) => {
          if (target.destroyed) {
            target = await hostileCircuit(nextId++);
            builds++;
          }
          for (const m of messages) for (let i = 0; i < m.repeat && !target.destroyed; i++) sendRaw(target, m);
          await settle();
          await settle();
          if (target.destroyed) {
            reasons.set(target.destroyed, (reasons.get(target.destroyed) ?? 0) + 1);
            expect(ALLOWED.has(target.destroyed), `destroyed with ${target.destroyed}`).toBe(true);
          }
          // The exit honours its stream limit whatever the client sends.
          expect(exit.node.stats().streams).toBeLessThanOrEqual(256 + 1);
        }),
        fuzzParameters(RUNS),
      );
      target.circuit.destroy('DONE');
      await settle();
      // Only the good circuit remains at the exit, with no stream left over.
      expect(exit.node.stats()).toMatchObject({ circuits: 1, streams: 0 });
      expect(reasons.get('INTERNAL_ERROR')).toBeUndefined();
      recordFigure('fuzz exit stream layer (authenticated relay messages)', { cases: fuzzRuns(RUNS), circuitsBuilt: builds, circuitsDestroyed: Object.fromEntries(reasons), crashes: 0 });
    },
    fuzzTimeout(RUNS, 3),
  );
});

// Keep the reason table honest: every name the test allows is a real reason.
for (const name of ALLOWED) if (!(name in REASONS)) throw new Error(`unknown reason ${name}`);
