// The pool's table of registered relays. A relay is listed while its last registration or
// heartbeat is younger than the deprecation delay; deprecated entries stay (answering heartbeats
// with UNKNOWN_RELAY) until the next garbage-collection cycle frees them.
import type { RelayDescriptor, SignedDescriptor } from '../shared/descriptor.ts';

export type RegistryEntry = {
  descriptor: RelayDescriptor;
  /** Exactly as the relay signed it: the list carries it unchanged. */
  envelope: SignedDescriptor;
  identityKey: Uint8Array;
  lastSeen: number;
};

export class RelayRegistry {
  private readonly entries = new Map<string, RegistryEntry>();
  private readonly deprecationDelayMs: number;
  private readonly maxRelays: number;
  private changes = 0;

  constructor(opts: { deprecationDelayMs: number; maxRelays: number }) {
    this.deprecationDelayMs = opts.deprecationDelayMs;
    this.maxRelays = opts.maxRelays;
  }

  /** Increases whenever the set of listed descriptors changes other than by deprecation. */
  get revision(): number {
    return this.changes;
  }

  /** Room for `id` (already present, or below the cap once deprecated entries are freed). */
  hasRoomFor(id: string, now: number): boolean {
    if (this.entries.has(id) || this.entries.size < this.maxRelays) return true;
    this.gc(now);
    return this.entries.size < this.maxRelays;
  }

  /** Adds or replaces a relay's entry; returns the previous entry if it was still live. */
  register(entry: RegistryEntry, now: number): RegistryEntry | undefined {
    const previous = this.live(entry.descriptor.id, now);
    this.entries.set(entry.descriptor.id, entry);
    this.changes++;
    return previous;
  }

  /** The entry of a relay that is still listed. */
  live(id: string, now: number): RegistryEntry | undefined {
    const entry = this.entries.get(id);
    return entry !== undefined && !this.isDeprecated(entry, now) ? entry : undefined;
  }

  remove(id: string): RegistryEntry | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      this.entries.delete(id);
      this.changes++;
    }
    return entry;
  }

  listed(now: number): RegistryEntry[] {
    return [...this.entries.values()].filter((entry) => !this.isDeprecated(entry, now));
  }

  /** When the first of these entries becomes deprecated, unless it heartbeats before. */
  deprecationTime(entries: RegistryEntry[]): number {
    let earliest = Infinity;
    for (const entry of entries) earliest = Math.min(earliest, entry.lastSeen + this.deprecationDelayMs);
    return earliest;
  }

  /** Frees deprecated entries and returns them. */
  gc(now: number): RegistryEntry[] {
    const freed: RegistryEntry[] = [];
    for (const [id, entry] of this.entries) {
      if (this.isDeprecated(entry, now)) {
        this.entries.delete(id);
        freed.push(entry);
      }
    }
    return freed;
  }

  private isDeprecated(entry: RegistryEntry, now: number): boolean {
    return now - entry.lastSeen > this.deprecationDelayMs;
  }
}
