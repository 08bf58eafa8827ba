// Circuits over real WebSockets through relays a test chooses (bypassing the client's random
// path), and a bystander: a circuit that keeps exchanging checked bytes while a test breaks
// something else, to show that other circuits are not disturbed.
import { ClientCircuit, hopTargetOf } from '../../shared/client/circuit.ts';
import { fetchDirectory, type DirectoryRelay, type PoolRef } from '../../shared/directory.ts';
import type { TpdpError } from '../../shared/errors.ts';
import { openWebSocketLink } from '../../shared/websocket-link.ts';
import { nodeCrypto } from '../../node/crypto.ts';
import { nodeWebSocketFactory } from '../../node/websocket.ts';
import { relayMetricsUrl } from './processes.ts';

export async function listedRelays(pool: PoolRef): Promise<DirectoryRelay[]> {
  return (await fetchDirectory([pool], { fetch, crypto: nodeCrypto })).relays;
}

export interface CircuitOptions {
  handshakeTimeoutMs?: number;
  maxStreams?: number;
}

/**
 * Test setup that may meet a relay the test pool has just deprecated: startTestNetwork's pool
 * drops a relay 1 s after a missed heartbeat, which a loaded machine sometimes causes, and a
 * relay refuses to extend to a relay its list lacks. Three retries a second apart outlast it.
 */
export async function withRetries<T>(setup: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await setup();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Builds a circuit through exactly these relays on a link of its own; rejects as the build fails. */
export async function circuitThrough(relays: DirectoryRelay[], options: CircuitOptions = {}) {
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
  const link = await openWebSocketLink(nodeWebSocketFactory(), relays[0].url, handshakeTimeoutMs);
  const closed: TpdpError[] = [];
  const circuit = new ClientCircuit({
    crypto: nodeCrypto,
    link,
    circuitId: 1,
    handshakeTimeoutMs,
    maxStreams: options.maxStreams,
    onClose: (_circuit, error) => {
      closed.push(error);
      link.close('DONE', 'circuit closed');
    },
  });
  link.handlers = { onCells: (cells) => circuit.handleCells(cells), onClose: (reason, detail) => circuit.linkClosed(reason, detail) };
  await circuit.build(relays.map(hopTargetOf));
  return { circuit, link, closed };
}

export interface Bystander {
  roundTrips: number;
  corrupt: number;
  error?: TpdpError;
  /** Ends the exchange; resolves with the final counts. */
  stop(): Promise<Bystander>;
}

/** Sends 1000-byte messages to a TCP echo server through `circuit`, one at a time, checking each echo. */
export async function startBystander(circuit: ClientCircuit, echoPort: number): Promise<Bystander> {
  const stream = await circuit.openStream({ kind: 'connect', host: '127.0.0.1', port: echoPort });
  let running = true;
  let expected = new Uint8Array(0);
  let received: number[] = [];
  let next: () => void = () => {};
  const state: Bystander = {
    roundTrips: 0,
    corrupt: 0,
    async stop() {
      running = false;
      await done;
      stream.close('DONE');
      return state;
    },
  };
  stream.onData = (chunk) => {
    received.push(...chunk);
    stream.consumed();
    if (received.length < expected.length) return;
    if (received.length !== expected.length || received.some((byte, i) => byte !== expected[i])) state.corrupt++;
    else state.roundTrips++;
    next();
  };
  stream.onClose = (error) => {
    state.error = error;
    running = false;
    next();
  };
  const done = (async () => {
    for (let i = 0; running; i++) {
      expected = Uint8Array.from({ length: 1000 }, (_, j) => (i * 7 + j * 13) & 0xff);
      received = [];
      const echoed = new Promise<void>((resolve) => (next = resolve));
      stream.write(expected);
      await echoed;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return state;
}

/** A relay's links, circuits and streams, from the /health of its metrics port (started by startRelayProcess). */
export async function relayHealth(relayUrl: string): Promise<{ links: number; circuits: number; streams: number }> {
  const response = await fetch(relayMetricsUrl(relayUrl) + '/health');
  return (await response.json()) as { links: number; circuits: number; streams: number };
}

/** Polls until `check` holds, failing after `timeoutMs`; resolves with the time it took. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

/**
 * Builds (and drops) one circuit starting at each relay, with retries, so that a test starts on a
 * network in which every relay has been seen extending to the others.
 */
export async function warmUp(relays: DirectoryRelay[]): Promise<void> {
  for (let i = 0; i < relays.length; i++) {
    const path = [...relays.slice(i), ...relays.slice(0, i)].slice(0, 3);
    (await withRetries(() => circuitThrough(path))).circuit.destroy();
  }
}
