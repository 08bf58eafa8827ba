// A relay's membership in its pools: register a freshly signed descriptor with each, heartbeat at
// the period each pool asks for, register again when a pool has forgotten the relay (restart,
// deprecation), and unregister on a clean shutdown so clients stop picking a relay that is gone.
// The descriptor's fields can change while it runs (onion-key rotation, bandwidth): `update`
// registers the new descriptor with every pool at once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CryptoProvider, KeyPair } from '../shared/crypto/provider.ts';
import { relayIdOf, signDescriptor, signStatement, type DescriptorFields } from '../shared/descriptor.ts';
import { fetchRelayList, poolEndpoint, readJsonResponse, type PoolRef } from '../shared/directory.ts';
import { errorMessage, type Logger } from '../node/log.ts';

export type JoinPoolsOptions = {
  pools: PoolRef[];
  descriptorFields: DescriptorFields;
  identity: KeyPair;
  crypto: CryptoProvider;
  fetch?: typeof fetch;
  log: Logger;
  /** Bound on every request to a pool; default 10 s. */
  requestTimeoutMs?: number;
};

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_REPLY_BYTES = 64 * 1024;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;
const LIST_POLL_FIRST_MS = 100;
const LIST_POLL_MAX_MS = 2_000;
// A pool chooses the heartbeat period, but a hostile or misconfigured one must not make the relay
// flood it or fall asleep.
const MIN_HEARTBEAT_MS = 100;
const MAX_HEARTBEAT_MS = 60 * 60_000;

/** Registers with every pool and keeps the registrations alive until stop(). */
export function joinPools(opts: JoinPoolsOptions): PoolClient {
  if (opts.pools.length === 0) throw new Error('no pool given');
  // Fails now, with the reason, if the descriptor is one no pool would accept.
  signDescriptor(opts.descriptorFields, opts.identity, opts.crypto);
  const client = new PoolClient(opts);
  client.start();
  return client;
}

/** The descriptor fields every membership registers, and a counter of their changes. */
type DescriptorSource = { fields: DescriptorFields; revision: number };

export class PoolClient {
  readonly id: string;
  private readonly memberships: PoolMembership[];
  private readonly descriptor: DescriptorSource;
  private readonly opts: JoinPoolsOptions;
  private listed: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(opts: JoinPoolsOptions) {
    this.id = relayIdOf(opts.identity.publicKey, opts.crypto);
    this.opts = opts;
    this.descriptor = { fields: opts.descriptorFields, revision: 0 };
    this.memberships = opts.pools.map((pool) => new PoolMembership(pool, this.id, opts, this.descriptor));
  }

  start(): void {
    for (const membership of this.memberships) membership.start();
  }

  /** Resolves once every pool serves a signed list (checked with the pinned key) that holds this relay. */
  waitListed(): Promise<void> {
    this.listed ??= Promise.all(this.memberships.map((m) => m.waitListed())).then(() => undefined);
    return this.listed;
  }

  /** Whether each pool lists the relay now, as far as the relay can tell (for health checks). */
  status(now = Date.now()): PoolStatus[] {
    return this.memberships.map((m) => m.status(now));
  }

  get descriptorFields(): DescriptorFields {
    return this.descriptor.fields;
  }

  /** Changes descriptor fields and registers the new descriptor with every pool; throws (and changes nothing) if no pool would accept it. */
  update(changes: Partial<DescriptorFields>): void {
    const fields = { ...this.descriptor.fields, ...changes };
    signDescriptor(fields, this.opts.identity, this.opts.crypto);
    this.descriptor.fields = fields;
    this.descriptor.revision++;
    for (const membership of this.memberships) membership.republish();
  }

  /** Stops heartbeats and tells every pool the relay is leaving. */
  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.memberships.map((m) => m.stop())).then(() => undefined);
    return this.stopping;
  }
}

type PoolReply = { status: number; body: Record<string, unknown> };

export type PoolStatus = { pool: string; listed: boolean; reason?: string };

class PoolMembership {
  private readonly pool: PoolRef;
  private readonly id: string;
  private readonly opts: JoinPoolsOptions;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly aborter = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private registered = false;
  private readonly descriptor: DescriptorSource;
  /** The descriptor revision the pool last accepted. */
  private registeredRevision = -1;
  /** Requests to the pool in flight. */
  private busy = 0;
  private lastSignedTime = 0;
  /** When the pool last accepted a registration or heartbeat, and how long it keeps a silent relay. */
  private acceptedAt = 0;
  private deprecationDelay = 0;
  private lastError = '';

  constructor(pool: PoolRef, id: string, opts: JoinPoolsOptions, descriptor: DescriptorSource) {
    this.descriptor = descriptor;
    this.pool = pool;
    this.id = id;
    this.opts = opts;
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  start(): void {
    void this.register();
  }

  async waitListed(): Promise<void> {
    let delay = LIST_POLL_FIRST_MS;
    let lastError = '';
    for (;;) {
      if (this.registered) {
        try {
          const relays = await fetchRelayList(this.pool, { fetch: this.fetch, crypto: this.opts.crypto, timeoutMs: this.timeoutMs });
          const { url, onionKey } = this.descriptor.fields;
          if (relays.some((r) => r.id === this.id && r.url === url && r.onionKey === onionKey)) {
            this.opts.log.info('listed by pool', { pool: this.pool.url, id: this.id });
            return;
          }
        } catch (err) {
          // A wrong pinned key fails here on every attempt: say so once, not every poll.
          if (errorMessage(err) !== lastError) this.opts.log.warn('cannot read the pool list', { pool: this.pool.url, error: errorMessage(err) });
          lastError = errorMessage(err);
        }
      }
      try {
        await sleep(delay, undefined, { signal: this.aborter.signal });
      } catch {
        throw new Error(`stopped before pool ${this.pool.url} listed this relay`);
      }
      delay = Math.min(delay * 2, LIST_POLL_MAX_MS);
    }
  }

  /**
   * A pool lists the relay from an accepted registration until its deprecation delay passes without
   * an accepted heartbeat (docs/POOL.md), so that is what the relay reports.
   */
  status(now: number): PoolStatus {
    const pool = this.pool.url;
    if (this.registered && now - this.acceptedAt < this.deprecationDelay) return { pool, listed: true };
    const why = this.lastError || 'no answer yet';
    if (this.acceptedAt === 0) return { pool, listed: false, reason: `not registered with ${pool}: ${why}` };
    return { pool, listed: false, reason: `${pool} accepted nothing for ${Math.round((now - this.acceptedAt) / 1000)} s: ${why}` };
  }

  private accepted(reply: PoolReply): void {
    this.acceptedAt = Date.now();
    this.lastError = '';
    const delay = reply.body.deprecationDelay;
    this.deprecationDelay = typeof delay === 'number' && Number.isFinite(delay) ? Math.min(Math.max(delay, MIN_HEARTBEAT_MS), MAX_HEARTBEAT_MS) : 0;
  }

  async stop(): Promise<void> {
    this.aborter.abort();
    clearTimeout(this.timer);
    // Sent even if no registration is known to have succeeded: one may have reached the pool
    // just before the abort. A pool that does not know the relay answers 404, which is fine.
    try {
      const reply = await this.post('/v1/unregister', signStatement('unregister', this.opts.identity, this.opts.crypto, this.signingTime()), AbortSignal.timeout(this.timeoutMs));
      if (reply.status === 200) this.opts.log.info('unregistered from pool', { pool: this.pool.url });
      else if (reply.status !== 404) throw new Error(describeReply(reply));
    } catch (err) {
      this.opts.log.warn('could not unregister from pool; it will drop the relay after its deprecation delay', {
        pool: this.pool.url,
        error: errorMessage(err),
      });
    }
  }

  private async register(): Promise<void> {
    try {
      const revision = this.descriptor.revision;
      const envelope = signDescriptor(this.descriptor.fields, this.opts.identity, this.opts.crypto, this.signingTime());
      const reply = await this.post('/v1/register', envelope);
      if (reply.status !== 200) throw new Error(describeReply(reply));
      const period = heartbeatPeriodOf(reply);
      this.accepted(reply);
      this.registered = true;
      this.failures = 0;
      this.registeredRevision = revision;
      this.opts.log.info('registered with pool', { pool: this.pool.url, id: this.id, heartbeatPeriodMs: period });
      // The fields changed while this registration was in flight: register the newer descriptor.
      if (revision !== this.descriptor.revision) return this.register();
      this.schedule(() => this.heartbeat(period), period);
    } catch (err) {
      if (this.aborter.signal.aborted) return;
      this.lastError = errorMessage(err);
      const delay = this.backoff();
      this.opts.log.warn('registration with pool failed; retrying', { pool: this.pool.url, error: errorMessage(err), retryInMs: delay });
      this.schedule(() => this.register(), delay);
    }
  }

  private async heartbeat(period: number): Promise<void> {
    try {
      const reply = await this.post('/v1/heartbeat', signStatement('heartbeat', this.opts.identity, this.opts.crypto, this.signingTime()));
      if (reply.status === 404 && reply.body.code === 'UNKNOWN_RELAY') {
        this.opts.log.warn('pool no longer knows this relay; registering again', { pool: this.pool.url });
        this.registered = false;
        this.lastError = 'pool no longer knows this relay';
        return this.register();
      }
      if (reply.status !== 200) throw new Error(describeReply(reply));
      this.failures = 0;
      const next = heartbeatPeriodOf(reply);
      this.accepted(reply);
      if (this.registeredRevision !== this.descriptor.revision) return this.register();
      this.schedule(() => this.heartbeat(next), next);
    } catch (err) {
      if (this.aborter.signal.aborted) return;
      this.lastError = errorMessage(err);
      // Sooner than a full period: a few missed heartbeats and the pool deprecates the relay.
      const delay = Math.min(period, this.backoff());
      this.opts.log.warn('heartbeat to pool failed', { pool: this.pool.url, error: errorMessage(err), retryInMs: delay });
      this.schedule(() => this.heartbeat(period), delay);
    }
  }

  /** Pools refuse a signed time not newer than the last one they accepted, even within one millisecond. */
  private signingTime(): number {
    this.lastSignedTime = Math.max(Date.now(), this.lastSignedTime + 1);
    return this.lastSignedTime;
  }

  private schedule(task: () => Promise<void>, delayMs: number): void {
    if (this.aborter.signal.aborted) return;
    this.timer = setTimeout(() => void task(), delayMs);
  }

  /** Exponential backoff with jitter, so relays restarted together do not retry in lockstep. */
  private backoff(): number {
    const base = Math.min(RETRY_FIRST_MS * 2 ** this.failures, RETRY_MAX_MS);
    this.failures++;
    return Math.round(base * (0.5 + Math.random() / 2));
  }

  /**
   * Registers the current descriptor now; if a request is in flight, it does so when that
   * request ends (so there is never more than one request loop per pool).
   */
  republish(): void {
    if (this.aborter.signal.aborted || this.busy > 0) return;
    clearTimeout(this.timer);
    void this.register();
  }

  private async post(path: string, body: unknown, signal?: AbortSignal): Promise<PoolReply> {
    this.busy++;
    try {
      return await this.send(path, body, signal);
    } finally {
      this.busy--;
    }
  }

  private async send(path: string, body: unknown, signal?: AbortSignal): Promise<PoolReply> {
    const response = await this.fetch(poolEndpoint(this.pool.url, path), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: signal ?? AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.timeoutMs)]),
    });
    // Error replies from a proxy in front of the pool may not be JSON; the status still says enough.
    const json = await readJsonResponse(response, MAX_REPLY_BYTES).catch(() => undefined);
    const replyBody = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
    return { status: response.status, body: replyBody };
  }
}

function heartbeatPeriodOf(reply: PoolReply): number {
  const period = reply.body.heartbeatPeriod;
  if (typeof period !== 'number' || !Number.isFinite(period)) throw new Error('pool reply has no valid heartbeatPeriod');
  return Math.min(Math.max(period, MIN_HEARTBEAT_MS), MAX_HEARTBEAT_MS);
}

function describeReply(reply: PoolReply): string {
  const { code, error } = reply.body;
  return typeof code === 'string' ? `pool answered ${reply.status} ${code}: ${String(error)}` : `pool answered HTTP ${reply.status}`;
}
