// Freshness and replay protection for everything a relay signs to a pool. A signed timestamp
// must be within the clock skew of the pool's clock, strictly newer than the last one accepted
// from that relay, and its nonce unseen; the state outlives a relay's registry entry for one
// skew window, so a captured registration cannot be replayed after the relay unregisters.
import { HttpError } from './http.ts';

type RelayState = { lastTime: number; nonces: Map<string, number> };

export class ReplayGuard {
  private readonly relays = new Map<string, RelayState>();
  private readonly clockSkewMs: number;
  private readonly maxRelays: number;
  private readonly maxNoncesPerRelay: number;

  constructor(opts: { clockSkewMs: number; maxRelays: number; maxNoncesPerRelay: number }) {
    this.clockSkewMs = opts.clockSkewMs;
    this.maxRelays = opts.maxRelays;
    this.maxNoncesPerRelay = opts.maxNoncesPerRelay;
  }

  /** Throws HttpError unless (time, nonce) is fresh for this relay; when it returns, the pair is spent. */
  admit(id: string, time: number, nonce: string, now: number): void {
    if (Math.abs(time - now) > this.clockSkewMs) {
      throw new HttpError(
        400,
        'STALE_TIMESTAMP',
        `signed time is ${Math.round((time - now) / 1000)} s from the pool's clock (allowed ±${this.clockSkewMs / 1000} s)`,
      );
    }
    let state = this.relays.get(id);
    if (state !== undefined) {
      if (time <= state.lastTime) throw new HttpError(409, 'REPLAYED', 'signed time is not newer than the last one accepted from this relay');
      if (state.nonces.has(nonce)) throw new HttpError(409, 'REPLAYED', 'nonce already used');
      if (state.nonces.size >= this.maxNoncesPerRelay) {
        this.prune(state, now);
        if (state.nonces.size >= this.maxNoncesPerRelay) {
          throw new HttpError(429, 'TOO_MANY_REQUESTS', 'too many signed requests from this relay; slow down');
        }
      }
    } else {
      if (this.relays.size >= this.maxRelays) this.gc(now);
      if (this.relays.size >= this.maxRelays) throw new HttpError(503, 'POOL_BUSY', 'too many relays active; try again later');
      state = { lastTime: time, nonces: new Map() };
      this.relays.set(id, state);
    }
    state.lastTime = time;
    state.nonces.set(nonce, time);
  }

  /** Forgets what can no longer be replayed: anything older than the skew window is refused as stale. */
  gc(now: number): void {
    for (const [id, state] of this.relays) {
      if (state.lastTime < now - this.clockSkewMs) this.relays.delete(id);
      else this.prune(state, now);
    }
  }

  private prune(state: RelayState, now: number): void {
    for (const [nonce, time] of state.nonces) {
      if (time < now - this.clockSkewMs) state.nonces.delete(nonce);
    }
  }
}
