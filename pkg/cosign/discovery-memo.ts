// One discovery per image, however many rules name it: the signatures of a digest in a repository are read once per
// admission, and every rule's attestor sets are checked against the same artifacts. The memo lives as long as the
// caller keeps it (one admission); concurrent asks for the same location share one discovery in flight.
import type { Result } from '../result/index.js';
import { discoverSignatures, type DiscoverDeps, type Discovery, type SignatureLocation } from './discover.js';
import type { VerifyFailure } from './failure.js';

export class DiscoveryMemo {
  readonly #deps: DiscoverDeps;
  readonly #discover: typeof discoverSignatures;
  readonly #byLocation = new Map<string, Promise<Result<Discovery, VerifyFailure>>>();

  /** `deps` are the admission's: its registry client, budget, deadline and credentials. */
  constructor(deps: DiscoverDeps, discover: typeof discoverSignatures = discoverSignatures) {
    this.#deps = deps;
    this.#discover = discover;
  }

  discover(location: SignatureLocation): Promise<Result<Discovery, VerifyFailure>> {
    const { registry, repository } = location.repository;
    const key = `${registry}/${repository}@${location.digest}`;
    let found = this.#byLocation.get(key);
    if (!found) {
      found = this.#discover(location, this.#deps);
      this.#byLocation.set(key, found);
    }
    return found;
  }

  /** How many distinct locations were discovered. */
  get size(): number {
    return this.#byLocation.size;
  }
}
