import { PREDICATE_TYPE_SHORTHANDS, resolvePredicateType } from './predicate-types.js';

describe('resolvePredicateType', () => {
  it.each([
    ['custom', 'https://cosign.sigstore.dev/attestation/v1'],
    ['slsaprovenance', 'https://slsa.dev/provenance/v0.2'],
    ['slsaprovenance02', 'https://slsa.dev/provenance/v0.2'],
    ['slsaprovenance1', 'https://slsa.dev/provenance/v1'],
    ['link', 'https://in-toto.io/Link/v1'],
    ['spdx', 'https://spdx.dev/Document'],
    ['spdxjson', 'https://spdx.dev/Document'],
    ['cyclonedx', 'https://cyclonedx.org/bom'],
    ['vuln', 'https://cosign.sigstore.dev/attestation/vuln/v1'],
    ['openvex', 'https://openvex.dev/ns'],
  ])('maps cosign’s shorthand %s to %s', (type, uri) => {
    expect(resolvePredicateType(type)).toEqual({ ok: true, value: uri });
  });

  it('knows exactly cosign’s shorthands', () => {
    expect(PREDICATE_TYPE_SHORTHANDS.size).toBe(10);
  });

  it.each(['https://example.com/CodeReview/v1', 'https://slsa.dev/provenance/v1', 'urn:example:review'])(
    'takes the absolute URI %s as it is',
    (uri) => {
      expect(resolvePredicateType(uri)).toEqual({ ok: true, value: uri });
    },
  );

  it.each(['', 'SLSAProvenance1', 'example.com/CodeReview/v1', '/CodeReview/v1', 'https://example.com/a b', 'https:'])(
    'refuses %j, naming the shorthands',
    (type) => {
      const resolved = resolvePredicateType(type);
      expect(resolved.ok).toBe(false);
      expect(!resolved.ok && resolved.error).toMatch(
        /^invalid predicate type ".*": expected slsaprovenance\|.*\|custom or an absolute URI$/,
      );
    },
  );

  it('quotes a hostile value safely', () => {
    const resolved = resolvePredicateType('x\u001b[2Jy');
    expect(!resolved.ok && resolved.error).not.toContain('\u001b');
  });
});
