import { describe, expect, it } from 'vitest';
import { memoryNetwork } from '../../test/support/memory-network.ts';
import { silentLog } from '../log-sink.ts';
import type { CircuitStream } from '../stream.ts';
import { CircuitManager, type CircuitEvent } from './circuit-manager.ts';
import { LinkPool } from './link-pool.ts';

function acceptAll(stream: CircuitStream) {
  stream.accept();
}

function setup(names = ['a', 'b', 'c', 'd', 'e'], down = new Set<string>(), maxDirtinessMs = 10 * 60_000, policies: Record<string, string> = {}) {
  const net = memoryNetwork(names, { exit: acceptAll });
  let now = 1_000_000;
  const events: CircuitEvent[] = [];
  const links = new LinkPool(async (url) => {
    const name = url.replace(/^ws:\/\/|\.test$/g, '');
    if (down.has(name)) throw new Error(`${name} is down`);
    return net.connect(url);
  }, net.crypto);
  const manager = new CircuitManager({
    crypto: net.crypto,
    links,
    relays: async () => net.directory().map((r) => ({ ...r, exit: { ...r.exit, policy: policies[r.id] ?? r.exit.policy } })),
    log: silentLog,
    handshakeTimeoutMs: 1000,
    buildAttempts: 3,
    maxDirtinessMs,
    avoidFailedRelayMs: 60_000,
    now: () => now,
    onEvent: (e) => events.push(e),
  });
  return { net, manager, events, advance: (ms: number) => (now += ms) };
}

describe('circuit manager', () => {
  it('reuses the circuit of an isolation key and never shares it across keys', async () => {
    const { manager } = setup();
    const a1 = await manager.get('tab-1', false);
    const a2 = await manager.get('tab-1', false);
    const b = await manager.get('tab-2', false);
    expect(a2).toBe(a1);
    expect(b.circuit).not.toBe(a1.circuit);
    expect(new Set(a1.relays.map((r) => r.id)).size).toBe(3);
  });

  it('builds one circuit for concurrent requests of one key', async () => {
    const { manager } = setup();
    const all = await Promise.all(Array.from({ length: 5 }, () => manager.get('k', false)));
    expect(new Set(all.map((m) => m.circuit)).size).toBe(1);
  });

  it('rotates a circuit ten minutes after its first use', async () => {
    const { manager, advance } = setup();
    const first = await manager.get('k', false);
    advance(9 * 60_000);
    expect(await manager.get('k', false)).toBe(first);
    advance(60_000);
    const second = await manager.get('k', false);
    expect(second).not.toBe(first);
    // Without streams, the rotated circuit is closed at once.
    expect(first.circuit.state).toBe('closed');
  });

  it('keeps a rotated circuit for its open streams, and closes it after the last one', async () => {
    const { manager, advance } = setup();
    const first = await manager.get('k', false);
    const stream = await first.circuit.openStream({ kind: 'connect', host: 'example.org', port: 80 });
    advance(10 * 60_000);
    const second = await manager.get('k', false);
    expect(second).not.toBe(first);
    expect(first.circuit.state).toBe('open');
    stream.close('DONE');
    expect(first.circuit.state).toBe('closed');
  });

  it('closes a circuit on time after its first use even if its key is never used again', async () => {
    const { manager } = setup(undefined, undefined, 100);
    const first = await manager.get('k', false);
    await new Promise((r) => setTimeout(r, 200));
    expect(first.circuit.state).toBe('closed');
  });

  it('gives a key a new circuit on request (New circuit) and after a failure', async () => {
    const { manager, events } = setup();
    const first = await manager.get('k', false);
    manager.retire('k');
    const second = await manager.get('k', false);
    expect(second).not.toBe(first);
    second.circuit.destroy('DONE');
    const third = await manager.get('k', false);
    expect(third.circuit.state).toBe('open');
    expect(third).not.toBe(second);
    expect(events.filter((e) => e.phase === 'open')).toHaveLength(3);
  });

  it('retries builds on fresh paths and avoids relays that failed', async () => {
    const down = new Set(['a', 'b']);
    const { manager } = setup(['a', 'b', 'c', 'd', 'e'], down);
    for (let i = 0; i < 5; i++) {
      const managed = await manager.get(`k${i}`, false);
      expect(managed.relays[0].id === 'a' || managed.relays[0].id === 'b').toBe(false);
    }
  });

  it("reuses a key's circuit only for ports its exit accepts, and builds one for another port", async () => {
    const { manager } = setup(undefined, undefined, undefined, { a: 'accept 80', b: 'accept 80', c: 'accept 80', d: 'accept 22', e: 'accept 22' });
    const web = await manager.get('k', false, 80);
    expect(web.relays[2].exit.policy).toBe('accept 80');
    expect(await manager.get('k', false, 80)).toBe(web);
    const ssh = await manager.get('k', false, 22);
    expect(ssh).not.toBe(web);
    expect(ssh.relays[2].exit.policy).toBe('accept 22');
    // Both stay the key's circuits; each port goes to the one whose exit takes it.
    expect(await manager.get('k', false, 80)).toBe(web);
    expect(await manager.get('k', false, 22)).toBe(ssh);
    // Another key never gets them, whatever the port.
    const other = await manager.get('k2', false, 80);
    expect(other).not.toBe(web);
    await expect(manager.get('k', false, 443)).rejects.toThrow(/exit policy accepting port 443/);
  });

  it('fails clearly when the list cannot make a path', async () => {
    const { manager } = setup(['a', 'b']);
    await expect(manager.get('k', false)).rejects.toThrow(/needs 3 distinct/);
    await expect(manager.get('k', true)).rejects.toThrow(/allow-private/);
  });
});
