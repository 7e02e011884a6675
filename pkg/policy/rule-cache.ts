// The in-memory store the operator writes compiled policies into and the webhook reads from. Reads return an
// immutable snapshot array that is rebuilt only on writes, so the admission hot path does no copying.
import type { CompiledPolicy } from './compiled-policy.js';

export interface RuleCacheOptions {
  /**
   * Called with a compiled policy that was replaced by another version or removed: what was derived from it (the
   * webhook's cached verification results) can be dropped.
   */
  readonly onRetired?: (retired: CompiledPolicy) => void;
}

export class RuleCache {
  readonly #byKey = new Map<string, CompiledPolicy>();
  readonly #onRetired: ((retired: CompiledPolicy) => void) | undefined;
  #snapshot: readonly CompiledPolicy[] = [];
  #warm = false;

  constructor(options: RuleCacheOptions = {}) {
    this.#onRetired = options.onRetired;
  }

  /** Adds or replaces a policy. */
  upsert(policy: CompiledPolicy): void {
    const previous = this.#byKey.get(policy.key);
    this.#byKey.set(policy.key, policy);
    this.#rebuild();
    if (previous && previous !== policy) this.#onRetired?.(previous);
  }

  /** Removes a policy; a no-op when it is absent. */
  remove(key: string): void {
    const previous = this.#byKey.get(key);
    if (!previous) return;
    this.#byKey.delete(key);
    this.#rebuild();
    this.#onRetired?.(previous);
  }

  get(key: string): CompiledPolicy | undefined {
    return this.#byKey.get(key);
  }

  /** Every compiled policy, in key order. */
  policies(): readonly CompiledPolicy[] {
    return this.#snapshot;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Called once every policy that existed at start-up has been compiled; the webhook is ready from then on. */
  markWarm(): void {
    this.#warm = true;
  }

  get isWarm(): boolean {
    return this.#warm;
  }

  #rebuild(): void {
    this.#snapshot = Object.freeze(
      [...this.#byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    );
  }
}
