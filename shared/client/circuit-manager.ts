// Circuits by isolation key (docs/TPDP.md §8): streams with the same key share a circuit, streams
// with different keys never do. A circuit takes new streams for 10 minutes after its first use
// (Tor's MaxCircuitDirtiness), is rebuilt when it fails, and builds are retried on fresh paths. A
// stream goes only on a circuit whose exit's policy accepts its port; otherwise one is built for it.
import type { CryptoProvider } from '../crypto/provider.ts';
import type { DirectoryRelay } from '../directory.ts';
import { isTpdpError, TpdpError } from '../errors.ts';
import type { LogSink } from '../log-sink.ts';
import { ClientCircuit, hopTargetOf } from './circuit.ts';
import type { LinkPool } from './link-pool.ts';
import { choosePath, exitAccepts, type PathRequirements } from './path.ts';

export type CircuitPhase = 'building' | 'open' | 'closed' | 'failed';

export interface CircuitEvent {
  isolationKey: string;
  phase: CircuitPhase;
  relays: DirectoryRelay[];
  error?: { code: string; message: string };
}

export interface ManagedCircuit {
  circuit: ClientCircuit;
  isolationKey: string;
  relays: DirectoryRelay[];
  createdAt: number;
  firstUsedAt?: number;
  allowPrivate: boolean;
  retired: boolean;
  dirtyTimer?: ReturnType<typeof setTimeout>;
}

export interface CircuitManagerOptions {
  crypto: CryptoProvider;
  links: LinkPool;
  relays(): Promise<DirectoryRelay[]>;
  log: LogSink;
  handshakeTimeoutMs: number;
  buildAttempts: number;
  maxDirtinessMs: number;
  /** How long a relay that failed us is left out of new paths. */
  avoidFailedRelayMs: number;
  now?: () => number;
  onEvent(event: CircuitEvent): void;
}

export class CircuitManager {
  private readonly options: CircuitManagerOptions;
  private readonly circuits = new Map<string, ManagedCircuit[]>();
  private readonly building = new Map<string, Promise<ManagedCircuit>>();
  private readonly failedRelays = new Map<string, number>();

  constructor(options: CircuitManagerOptions) {
    this.options = options;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * The circuit new streams with this key should use, built if there is none: `port` is the
   * destination port of the stream (undefined: any exit that accepts some port will do).
   */
  async get(isolationKey: string, allowPrivate: boolean, port?: number): Promise<ManagedCircuit> {
    const usable = this.usable(isolationKey, allowPrivate, port);
    if (usable) return this.markUsed(usable);
    const buildKey = `${allowPrivate ? 'p' : 'n'}:${port ?? '*'}:${isolationKey}`;
    let pending = this.building.get(buildKey);
    if (!pending) {
      pending = this.buildWithRetries(isolationKey, allowPrivate, port).finally(() => this.building.delete(buildKey));
      this.building.set(buildKey, pending);
    }
    return this.markUsed(await pending);
  }

  /** The newest circuit of a key, for status displays. */
  current(isolationKey: string): ManagedCircuit | undefined {
    const list = this.circuits.get(isolationKey);
    return list?.[list.length - 1];
  }

  /** New streams with this key get a new circuit; open streams finish on the old one. */
  retire(isolationKey: string): void {
    for (const managed of [...(this.circuits.get(isolationKey) ?? [])]) this.retireCircuit(managed);
  }

  /** A retired circuit takes no new streams and is closed once its last stream ends. */
  private retireCircuit(managed: ManagedCircuit): void {
    managed.retired = true;
    if (managed.circuit.streamCount === 0) managed.circuit.destroy('DONE');
  }

  closeAll(): void {
    for (const list of this.circuits.values()) for (const managed of [...list]) managed.circuit.destroy('DONE');
    this.circuits.clear();
  }

  /** Remembers that a relay failed, so the next paths avoid it for a while. */
  reportFailedRelay(relayId: string): void {
    this.failedRelays.set(relayId, this.now() + this.options.avoidFailedRelayMs);
  }

  private usable(isolationKey: string, allowPrivate: boolean, port: number | undefined): ManagedCircuit | undefined {
    const now = this.now();
    for (const managed of this.circuits.get(isolationKey) ?? []) {
      if (managed.retired || managed.circuit.state !== 'open') continue;
      if (allowPrivate && !managed.allowPrivate) continue;
      if (!exitAccepts(managed.relays[managed.relays.length - 1], port)) continue;
      if (managed.firstUsedAt !== undefined && now - managed.firstUsedAt >= this.options.maxDirtinessMs) {
        this.retireCircuit(managed);
        continue;
      }
      return managed;
    }
    return undefined;
  }

  private markUsed(managed: ManagedCircuit): ManagedCircuit {
    if (managed.firstUsedAt === undefined) {
      managed.firstUsedAt = this.now();
      // Dirty circuits retire on time even if their key is never used again.
      managed.dirtyTimer = setTimeout(() => this.retireCircuit(managed), this.options.maxDirtinessMs);
      (managed.dirtyTimer as { unref?: () => void }).unref?.();
    }
    return managed;
  }

  private avoidSet(): Set<string> {
    const now = this.now();
    for (const [id, until] of this.failedRelays) if (until <= now) this.failedRelays.delete(id);
    return new Set(this.failedRelays.keys());
  }

  private async buildWithRetries(isolationKey: string, allowPrivate: boolean, port: number | undefined): Promise<ManagedCircuit> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.options.buildAttempts; attempt++) {
      // No relay list, or no path in it, will not get better with another attempt: no retry.
      const path = await this.choosePath(allowPrivate, port);
      try {
        return await this.build(isolationKey, allowPrivate, path);
      } catch (err) {
        lastError = err;
        this.options.log.info('circuit build failed', { attempt, error: (err as Error).message });
      }
    }
    throw isTpdpError(lastError) ? lastError : new TpdpError('INTERNAL_ERROR', (lastError as Error)?.message ?? 'circuit build failed');
  }

  private async choosePath(allowPrivate: boolean, port: number | undefined): Promise<DirectoryRelay[]> {
    const requirements: PathRequirements = { allowPrivate, port, avoid: this.avoidSet() };
    const relays = await this.options.relays();
    try {
      return choosePath(relays, this.options.crypto, requirements);
    } catch (err) {
      // Every relay may be marked failed after an outage: try once more without that memory.
      if (requirements.avoid!.size === 0) throw err;
      this.failedRelays.clear();
      return choosePath(relays, this.options.crypto, { allowPrivate, port });
    }
  }

  private async build(isolationKey: string, allowPrivate: boolean, path: DirectoryRelay[]): Promise<ManagedCircuit> {
    this.options.onEvent({ isolationKey, phase: 'building', relays: path });
    const guardUrl = path[0].url;
    let circuit!: ClientCircuit;
    let managed: ManagedCircuit | undefined;
    try {
      await this.options.links.attach(guardUrl, (circuitId, link) => {
        circuit = new ClientCircuit({
          crypto: this.options.crypto,
          link,
          circuitId,
          handshakeTimeoutMs: this.options.handshakeTimeoutMs,
          onClose: (_c, error) => {
            this.options.links.detach(guardUrl, circuitId);
            if (managed) this.forget(managed, error);
          },
          onIdle: () => {
            if (managed?.retired) managed.circuit.destroy('DONE');
          },
        });
        return circuit;
      });
    } catch (err) {
      this.reportFailedRelay(path[0].id);
      this.options.onEvent({ isolationKey, phase: 'failed', relays: path, error: errorInfo(err) });
      throw err;
    }
    try {
      await circuit.build(path.map(hopTargetOf));
    } catch (err) {
      // The first hop that did not answer is the one to avoid.
      const failed = path[circuit.path.length];
      if (failed && isTpdpError(err) && ['HOP_UNREACHABLE', 'TIMEOUT_ERROR', 'LINK_CLOSED'].includes(err.code)) this.reportFailedRelay(failed.id);
      this.options.onEvent({ isolationKey, phase: 'failed', relays: path, error: errorInfo(err) });
      throw err;
    }
    managed = { circuit, isolationKey, relays: path, createdAt: this.now(), allowPrivate, retired: false };
    const list = this.circuits.get(isolationKey) ?? [];
    list.push(managed);
    this.circuits.set(isolationKey, list);
    this.options.onEvent({ isolationKey, phase: 'open', relays: path });
    return managed;
  }

  private forget(managed: ManagedCircuit, error: TpdpError): void {
    clearTimeout(managed.dirtyTimer);
    const list = this.circuits.get(managed.isolationKey);
    if (!list) return;
    const index = list.indexOf(managed);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.circuits.delete(managed.isolationKey);
    this.options.onEvent({ isolationKey: managed.isolationKey, phase: 'closed', relays: managed.relays, error: errorInfo(error) });
  }
}

function errorInfo(err: unknown): { code: string; message: string } {
  return { code: isTpdpError(err) ? err.code : 'INTERNAL_ERROR', message: (err as Error)?.message ?? String(err) };
}
