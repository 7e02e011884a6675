// cosign's `--type` flag: a shorthand for one of the predicate types cosign attest knows, or the predicate type's URI
// itself. The shorthands are cosign's PredicateTypeMap (cmd/cosign/cli/options/predicate.go; cosign-formats.md §3.3),
// so that `imprimatur verify-attestation --type X` looks for what `cosign attest --type X` wrote.
import { err, ok, type Result } from '../result/index.js';
import { quoteText } from '../text/index.js';
import { COSIGN_CUSTOM_PREDICATE_TYPE } from './check-attestations.js';

/** cosign's shorthands and the predicate types they stand for; `custom` is cosign's default. */
export const PREDICATE_TYPE_SHORTHANDS: ReadonlyMap<string, string> = new Map([
  ['slsaprovenance', 'https://slsa.dev/provenance/v0.2'],
  ['slsaprovenance02', 'https://slsa.dev/provenance/v0.2'],
  ['slsaprovenance1', 'https://slsa.dev/provenance/v1'],
  ['link', 'https://in-toto.io/Link/v1'],
  ['spdx', 'https://spdx.dev/Document'],
  ['spdxjson', 'https://spdx.dev/Document'],
  ['cyclonedx', 'https://cyclonedx.org/bom'],
  ['vuln', 'https://cosign.sigstore.dev/attestation/vuln/v1'],
  ['openvex', 'https://openvex.dev/ns'],
  ['custom', COSIGN_CUSTOM_PREDICATE_TYPE],
]);

/** A scheme, then no whitespace or control characters: a predicate type is compared byte for byte. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\p{Cc}]+$/u;

/**
 * The predicate type a `--type` value names: a shorthand's URI, else the value itself when it is an absolute URI
 * (cosign takes whatever url.ParseRequestURI accepts; a type that is not a URI matches nothing cosign writes).
 */
export function resolvePredicateType(type: string): Result<string, string> {
  const known = PREDICATE_TYPE_SHORTHANDS.get(type);
  if (known !== undefined) return ok(known);
  if (ABSOLUTE_URI.test(type) && URL.canParse(type)) return ok(type);
  return err(
    `invalid predicate type ${quoteText(type)}: expected ${[...PREDICATE_TYPE_SHORTHANDS.keys()].join('|')} ` +
      'or an absolute URI',
  );
}
