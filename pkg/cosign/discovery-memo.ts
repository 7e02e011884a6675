// One discovery per image, however many rules name it: the signatures of a digest in a repository are read once per
// admission, and every rule's attestor sets are checked against the same artifacts. The memo lives as long as the
// caller keeps it (one admission); concurrent asks for the same location share one discovery in flight. A discovery
// made insecurely (allowInsecureRegistry) read what anyone on the path could have sent, so it answers only insecure
// asks, and a secure one only secure asks; one of Sigstore bundles alone (type SigstoreBundle) answers only asks for
// bundles alone, as the other reads more. Attestations are read the same way, once per admission for every rule
// that asks for them.
import type { Result } from '../result/index.js';
import {
  discoverAttestations,
  discoverSignatures,
  type DiscoverDeps,
  type Discovery,
  type SignatureLayouts,
  type SignatureLocation,
} from './discover.js';
import type { VerifyFailure } from './failure.js';

/** Where to look, and how: insecurely (an entry's allowInsecureRegistry), and in which layouts (its `type`). */
type Ask = SignatureLocation & { readonly insecure?: boolean; readonly layouts?: SignatureLayouts };

export class DiscoveryMemo {
  readonly #deps: DiscoverDeps;
  readonly #discover: typeof discoverSignatures;
  readonly #discoverAttestations: typeof discoverAttestations;
  readonly #byLocation = new Map<string, Promise<Result<Discovery, VerifyFailure>>>();

  /** `deps` are the admission's: its registry client, budget, deadline and credentials. */
  constructor(
    deps: DiscoverDeps,
    discover: typeof discoverSignatures = discoverSignatures,
    attestations: typeof discoverAttestations = discoverAttestations,
  ) {
    this.#deps = deps;
    this.#discover = discover;
    this.#discoverAttestations = attestations;
  }

  /**
   * The signatures at `location`, read as insecure calls when `insecure` (an entry's allowInsecureRegistry), in the
   * `layouts` asked for (every layout when absent).
   */
  discover(ask: Ask): Promise<Result<Discovery, VerifyFailure>> {
    return this.#memo(['signatures'], ask, this.#discover);
  }

  /**
   * The attestations at `location`, as `discover` reads signatures. `predicateTypes` are the types the admission
   * asks for, in all its rules, so that one discovery serves them all and reads no other.
   */
  discoverAttestations(
    ask: Ask & { readonly predicateTypes?: ReadonlySet<string> },
  ): Promise<Result<Discovery, VerifyFailure>> {
    const types = ask.predicateTypes;
    return this.#memo(types ? ['attestations', [...types].sort()] : ['attestations'], ask, (location, deps) =>
      this.#discoverAttestations(location, deps, types),
    );
  }

  #memo(
    what: readonly unknown[],
    ask: Ask,
    discover: typeof discoverSignatures,
  ): Promise<Result<Discovery, VerifyFailure>> {
    const { repository, digest } = ask;
    const insecure = ask.insecure === true;
    const layouts = ask.layouts ?? 'all';
    const key = JSON.stringify([...what, repository.registry, repository.repository, digest, insecure, layouts]);
    let found = this.#byLocation.get(key);
    if (!found) {
      // The ask decides, whatever the admission's deps say: the key is made of it.
      found = discover({ repository, digest }, { ...this.#deps, insecure, layouts });
      this.#byLocation.set(key, found);
    }
    return found;
  }

  /** How many distinct locations were discovered. */
  get size(): number {
    return this.#byLocation.size;
  }
}
