// The shape of every table the network can grow (pending SCRAM exchanges, sessions, rate-limit
// buckets): a Map with an expiry per entry and a hard cap on its size.

/**
 * Entries vanish once expired (lazily, when looked up or pushed out). Past `capacity` the least
 * recently written entry is dropped, so memory stays bounded whatever a client sends.
 */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Removes and returns the entry: how single-use values (nonces) are consumed. */
  take(key: K, now: number): V | undefined {
    const value = this.get(key, now);
    this.entries.delete(key);
    return value;
  }

  set(key: K, value: V, expires: number): void {
    // Re-inserting moves the key to the end of the Map's order: the front is the oldest write.
    this.entries.delete(key);
    this.entries.set(key, { value, expires });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}
