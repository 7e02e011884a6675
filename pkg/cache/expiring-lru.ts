// A map whose entries live a fixed time and whose size is bounded, forgetting the least recently used entry beyond
// the bound. Nothing runs in the background: expired entries are dropped whenever the map is next used. Every entry
// lives the same time, so storing order is expiry order; each use drops expired entries from the old end of that
// order and stops at the first live one, so expired entries neither hold memory nor cost a scan.
// Entries belong to a group (for the verification cache, a policy), and a group can be dropped at once.

export interface ExpiringLruOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now: () => number;
}

interface Entry<V> {
  readonly group: string;
  readonly value: V;
  readonly expiresAt: number;
}

export class ExpiringLru<V> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Least recently used first: a Map iterates in insertion order, and a use re-inserts. */
  readonly #byUse = new Map<string, Entry<V>>();
  /** The same keys, oldest stored first. */
  readonly #byAge = new Set<string>();
  readonly #byGroup = new Map<string, Set<string>>();
  #evictions = 0;
  #expirations = 0;
  #nextExpiry = Infinity;

  constructor(options: ExpiringLruOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now;
  }

  /** The live value of `key`, which becomes the most recently used. */
  get(key: string): V | undefined {
    const now = this.#now();
    this.#dropExpired(now);
    const entry = this.#byUse.get(key);
    if (!entry) return undefined;
    // A clock that stepped back can leave an expired entry behind a live one in #byAge; it is still never returned.
    if (entry.expiresAt <= now) {
      this.#remove(key, entry);
      this.#expirations++;
      return undefined;
    }
    this.#byUse.delete(key);
    this.#byUse.set(key, entry);
    return entry.value;
  }

  /** Stores `value` for ttlMs from now, replacing any entry of `key`, and evicts beyond maxEntries. */
  set(key: string, group: string, value: V): void {
    const now = this.#now();
    this.#dropExpired(now);
    const old = this.#byUse.get(key);
    if (old) this.#remove(key, old);
    const expiresAt = now + this.#ttlMs;
    // Earlier than the oldest entry's only when the clock stepped back.
    this.#nextExpiry = Math.min(this.#nextExpiry, expiresAt);
    this.#byUse.set(key, { group, value, expiresAt });
    this.#byAge.add(key);
    const members = this.#byGroup.get(group);
    if (members) members.add(key);
    else this.#byGroup.set(group, new Set([key]));
    for (const [k, entry] of this.#byUse) {
      if (this.#byUse.size <= this.#maxEntries) break;
      this.#remove(k, entry);
      this.#evictions++;
    }
  }

  /** Drops every entry of `group`; returns how many there were. */
  deleteGroup(group: string): number {
    const members = this.#byGroup.get(group);
    if (!members) return 0;
    const count = members.size;
    for (const key of [...members]) this.#remove(key, this.#byUse.get(key)!);
    return count;
  }

  clear(): void {
    this.#byUse.clear();
    this.#byAge.clear();
    this.#byGroup.clear();
  }

  /** Live entries. */
  get size(): number {
    this.#dropExpired();
    return this.#byUse.size;
  }

  /** Entries dropped to stay within maxEntries. */
  get evictions(): number {
    return this.#evictions;
  }

  /** Entries dropped because they outlived ttlMs. */
  get expirations(): number {
    return this.#expirations;
  }

  /**
   * Drops the entries that have expired, oldest first. `#nextExpiry` is when the oldest entry expires (or earlier,
   * after it was removed some other way), so that most uses, 60 per admission, skip the walk.
   */
  #dropExpired(now = this.#now()): void {
    if (now < this.#nextExpiry) return;
    for (const key of this.#byAge) {
      const entry = this.#byUse.get(key)!;
      if (entry.expiresAt > now) {
        this.#nextExpiry = entry.expiresAt;
        return;
      }
      this.#remove(key, entry);
      this.#expirations++;
    }
    this.#nextExpiry = Infinity;
  }

  #remove(key: string, entry: Entry<V>): void {
    this.#byUse.delete(key);
    this.#byAge.delete(key);
    const members = this.#byGroup.get(entry.group);
    members?.delete(key);
    if (members?.size === 0) this.#byGroup.delete(entry.group);
  }
}
