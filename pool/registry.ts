// The pool's table of registered relays. A relay is listed while its last registration or
// heartbeat is younger than the deprecation delay; deprecated entries stay (answering heartbeats
// with UNKNOWN_RELAY) until the next garbage-collection cycle frees them. The table is bounded in
// entries and in the bytes its entries add to the served list, so the list always stays small
// enough for clients to read (shared/relay-list.ts MAX_LIST_CHARS), however large descriptors are.
import type { RelayDescriptor, SignedDescriptor } from '../shared/descriptor.ts';
import { MAX_LIST_CHARS } from '../shared/relay-list.ts';

/** What the list's own fields and signature take besides its entries, with room to spare. */
const LIST_OVERHEAD_BYTES = 4096;
export const MAX_LIST_ENTRY_BYTES = MAX_LIST_CHARS - LIST_OVERHEAD_BYTES;

const encoder = new TextEncoder();
/**
 * Bytes an entry adds to the list response: the envelope is JSON inside the list's JSON text,
 * which travels as a JSON string itself, so it is escaped twice; plus the comma between entries.
 */
export function listEntryBytes(envelope: SignedDescriptor): number {
  return encoder.encode(JSON.stringify(JSON.stringify(envelope))).length - 2 + 1;
}

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
  private readonly maxListBytes: number;
  private listBytes = 0;
  private changes = 0;

  constructor(opts: { deprecationDelayMs: number; maxRelays: number; maxListBytes?: number }) {
    this.deprecationDelayMs = opts.deprecationDelayMs;
    this.maxRelays = opts.maxRelays;
    this.maxListBytes = opts.maxListBytes ?? MAX_LIST_ENTRY_BYTES;
  }

  /** Increases whenever the set of listed descriptors changes other than by deprecation. */
  get revision(): number {
    return this.changes;
  }

  /**
   * Whether `envelope` fits: below the relay cap (a relay already present replaces its entry) and
   * within the list's byte budget, once deprecated entries are freed if need be.
   */
  hasRoomFor(id: string, envelope: SignedDescriptor, now: number): boolean {
    const fits = () => {
      const present = this.entries.get(id);
      const bytes = this.listBytes - (present ? listEntryBytes(present.envelope) : 0) + listEntryBytes(envelope);
      return (present !== undefined || this.entries.size < this.maxRelays) && bytes <= this.maxListBytes;
    };
    if (fits()) return true;
    this.gc(now);
    return fits();
  }

  /** Adds or replaces a relay's entry; returns the previous entry if it was still live. */
  register(entry: RegistryEntry, now: number): RegistryEntry | undefined {
    const previous = this.live(entry.descriptor.id, now);
    this.remove(entry.descriptor.id);
    this.entries.set(entry.descriptor.id, entry);
    this.listBytes += listEntryBytes(entry.envelope);
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
      this.listBytes -= listEntryBytes(entry.envelope);
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
        this.listBytes -= listEntryBytes(entry.envelope);
        freed.push(entry);
      }
    }
    return freed;
  }

  private isDeprecated(entry: RegistryEntry, now: number): boolean {
    return now - entry.lastSeen > this.deprecationDelayMs;
  }
}
