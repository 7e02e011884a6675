// The in-memory store the operator writes compiled policies into and the webhook reads from. Reads return an
// immutable snapshot array that is rebuilt only on writes, so the admission hot path does no copying.
import type { CompiledPolicy } from './compiled-policy.js';

export class RuleCache {
  readonly #byKey = new Map<string, CompiledPolicy>();
  #snapshot: readonly CompiledPolicy[] = [];
  #warm = false;

  /** Adds or replaces a policy. */
  upsert(policy: CompiledPolicy): void {
    this.#byKey.set(policy.key, policy);
    this.#rebuild();
  }

  /** Removes a policy; a no-op when it is absent. */
  remove(key: string): void {
    if (this.#byKey.delete(key)) this.#rebuild();
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
