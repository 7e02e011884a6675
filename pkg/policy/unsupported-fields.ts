// Fields the schema accepts, as Kyverno's does, that nothing checks at admission. A policy must never be Ready=True
// while a part of it is not enforced, so each such field is either refused here, naming the field, or listed below as
// a harmless no-op with the reason it is harmless.
//
// Refused with reason Unsupported ("... is not supported yet"): what Kyverno enforces and Imprimatur does not, yet.
//   - spec.webhookConfiguration.matchConditions: CEL conditions that narrow the requests a policy sees;
//   - spec.applyRules: One, with more than one verifyImages rule (Kyverno stops at the first rule that applies);
//   - a verifyImages rule's preconditions and celPreconditions: they narrow when the rule applies;
//   - imageRegistryCredentials.providers: cloud credential helpers (ECR, ACR, GCR, GitHub);
//   - an attestor's repository (attestors[].entries[].repository): only the entry's repository is read;
//   - a key's signatureAlgorithm other than sha256: signatures are checked with the hashes cosign signs with (the
//     key's default, then SHA-256), never with the one the policy names.
//   (type: Notary is refused where the entry's type is read, image-verification.ts.)
//
// Refused with reason InvalidSpec, on purpose: legacy fields that Kyverno's ImageVerification.Convert() drops, so that
// they check nothing in Kyverno either (additionalExtensions; subject and roots without issuer; issuer, subject and
// roots beside key; annotations without key or issuer). A field that does nothing is worse than no field.
//
// Accepted, and harmless without enforcement:
//   - spec.background, rules' reportProperties: background scans and policy reports only report, never admit or deny;
//   - spec.emitWarning: adds warnings to admissions Kyverno lets through; what is admitted does not change;
//   - rules' skipBackgroundRequests: skips requests from Kyverno's own background controller, which is not running;
//   - spec.schemaValidation (deprecated, unused by Kyverno), generateExisting, generateExistingOnPolicyUpdate,
//     mutateExistingOnPolicyUpdate, useServerSideApply: they concern generate and mutate rules, reported as not run;
//   - cosignOCI11: signatures are looked for in every layout (tags and OCI 1.1 referrers) anyway, so asking for
//     referrers first changes nothing about what is verified;
//   - type: SigstoreBundle: bundles alone are read, as Kyverno reads them (webhook/verify-images.ts), and verified
//     as the bundles of type Cosign are;
//   - rekor.url: the log is never queried (trust material comes from the policy and --trusted-root); the entries the
//     signatures carry are checked against the log's key, which is what the URL would have been used to reach;
//   - ctlog settings on a keys attestor: a key has no certificate, so there is no SCT to check.
// rule.context is left to where the rule's variables are compiled.
import { parseAttestorSet, type ImageVerificationType, type PolicySpecType, type RuleType } from '../api/v1/index.js';
import type { AttestorSet, Fail } from './attestors.js';

/** The one hash a key's signatures are checked with whatever the policy says (see signature-schemes.ts). */
const CHECKED_ALGORITHMS = new Set(['', 'sha256']);
/** Values attestors.ts accepts for keys.signatureAlgorithm; any other is its InvalidSpec, not Unsupported. */
const KNOWN_ALGORITHMS = new Set(['', 'sha224', 'sha256', 'sha384', 'sha512']);

const notYet = (what: string, why: string) => `${what} is not supported yet: ${why}`;

/** Spec-level fields: checked once per policy that has verifyImages rules. */
export function checkSpecFields(spec: PolicySpecType, fail: Fail): void {
  const verifyRules = spec.rules.filter((r) => r.verifyImages !== undefined).length;
  if (verifyRules === 0) return;
  if (spec.admission === false) {
    // Kyverno's own validation (pkg/validation/policy/validate.go).
    fail('InvalidSpec', 'spec.admission', 'disabling admission processing is only allowed with validation policies');
  }
  if ((spec.webhookConfiguration?.matchConditions ?? []).length > 0) {
    fail(
      'Unsupported',
      'spec.webhookConfiguration.matchConditions',
      notYet(
        'matchConditions',
        'the webhook would see every request the rules match, not only those the conditions select; remove them ' +
          'and narrow the rules with match and exclude',
      ),
    );
  }
  if (spec.applyRules === 'One' && verifyRules > 1) {
    fail(
      'Unsupported',
      'spec.applyRules',
      notYet(
        'applyRules: One',
        'every verifyImages rule that matches would be applied, not only the first; split the rules into policies',
      ),
    );
  }
}

/** Rule-level fields of a verifyImages rule. */
export function checkRuleFields(rule: RuleType, field: string, fail: Fail): void {
  if (rule.verifyImages === undefined) return;
  if (hasConditions(rule.preconditions)) {
    fail(
      'Unsupported',
      `${field}.preconditions`,
      notYet(
        'preconditions on a verifyImages rule',
        'the rule would apply whether or not they hold; narrow it with match and exclude instead',
      ),
    );
  }
  if ((rule.celPreconditions ?? []).length > 0) {
    fail(
      'Unsupported',
      `${field}.celPreconditions`,
      notYet('celPreconditions on a verifyImages rule', 'the rule would apply whether or not they hold'),
    );
  }
}

/** Fields of one verifyImages entry, its attestors (nested ones too) and its attestations' attestors. */
export function checkImageVerificationFields(iv: ImageVerificationType, field: string, fail: Fail): void {
  if ((iv.imageRegistryCredentials?.providers ?? []).length > 0) {
    fail(
      'Unsupported',
      `${field}.imageRegistryCredentials.providers`,
      notYet(
        'providers',
        'no cloud credential helper is run; give the registry credentials as imageRegistryCredentials.secrets',
      ),
    );
  }
  (iv.attestors ?? []).forEach((s, k) => checkAttestorSet(s, `${field}.attestors[${k}]`, fail));
  (iv.attestations ?? []).forEach((a, k) =>
    (a.attestors ?? []).forEach((s, m) => checkAttestorSet(s, `${field}.attestations[${k}].attestors[${m}]`, fail)),
  );
  checkLegacyFields(iv, field, fail);
}

function checkAttestorSet(set: AttestorSet, field: string, fail: Fail): void {
  (set.entries ?? []).forEach((a, k) => {
    const at = `${field}.entries[${k}]`;
    if (a.repository) {
      fail(
        'Unsupported',
        `${at}.repository`,
        notYet(
          "an attestor's repository",
          "signatures are read from the verifyImages entry's repository; set repository on the entry instead",
        ),
      );
    }
    if (a.keys) {
      const own = a.keys.signatureAlgorithm !== undefined;
      const algorithm = a.keys.signatureAlgorithm ?? a.signatureAlgorithm ?? '';
      if (KNOWN_ALGORITHMS.has(algorithm) && !CHECKED_ALGORITHMS.has(algorithm)) {
        fail(
          'Unsupported',
          `${at}${own ? '.keys' : ''}.signatureAlgorithm`,
          notYet(
            `signatureAlgorithm ${algorithm}`,
            "signatures are checked with the hashes cosign signs with (the key's default, then sha256); remove it",
          ),
        );
      }
    }
    // A nested set is free JSON in the schema; one that does not parse is attestors.ts' InvalidSpec.
    if (a.attestor !== undefined) {
      const nested = parseAttestorSet(a.attestor, `${at}.attestor`);
      if (nested.ok) checkAttestorSet(nested.value, `${at}.attestor`, fail);
    }
  });
}

/**
 * The legacy fields Kyverno's ImageVerification.Convert() drops (kyverno-verifyimages.md §2): with `key`, the keyless
 * ones; without `issuer`, subject and roots; without key or issuer, annotations (Kyverno refuses that one only with
 * `image`); and additionalExtensions always.
 */
function checkLegacyFields(iv: ImageVerificationType, field: string, fail: Fail): void {
  const dropped = (name: string, when: string, instead: string) =>
    fail(
      'InvalidSpec',
      `${field}.${name}`,
      `${name} is ignored ${when}, by Kyverno too (its conversion of the legacy fields drops it), so it would check ` +
        `nothing; Imprimatur refuses it on purpose: ${instead}`,
    );
  const keyless = 'write a keyless attestor (attestors[].entries[].keyless)';
  if (Object.keys(iv.additionalExtensions ?? {}).length > 0) {
    dropped('additionalExtensions', 'in every case', `${keyless} with additionalExtensions`);
  }
  if (iv.key) {
    for (const name of ['issuer', 'subject', 'roots'] as const) {
      if (iv[name]) dropped(name, 'beside key', `remove it, or ${keyless}`);
    }
    return;
  }
  if (!iv.issuer) {
    for (const name of ['subject', 'roots'] as const) {
      if (iv[name]) dropped(name, 'without issuer', `set issuer, or ${keyless}`);
    }
    if (Object.keys(iv.annotations ?? {}).length > 0) {
      dropped('annotations', 'without key or issuer', 'put them on an attestor (attestors[].entries[].annotations)');
    }
  }
}

/** Whether preconditions (any/all, or the legacy list) hold at least one condition. */
function hasConditions(preconditions: unknown): boolean {
  if (Array.isArray(preconditions)) return preconditions.length > 0;
  if (typeof preconditions !== 'object' || preconditions === null) return false;
  const { any, all } = preconditions as { any?: unknown; all?: unknown };
  return (Array.isArray(any) && any.length > 0) || (Array.isArray(all) && all.length > 0);
}
