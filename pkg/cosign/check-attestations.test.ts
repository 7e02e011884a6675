// discoverAttestations and checkAttestations on what the real cosign CLIs wrote (testdata/captured, made by
// hack/capture-cosign-fixtures.mjs): legacy .att layers (cosign v2 and v3) and attestation bundles (cosign v3), key
// and keyless, served byte for byte to the real registry client. Conditions are evaluated by a stand-in here; their
// semantics are pkg/conditions' tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseImageRef } from '../imageref/index.js';
import { RegistryClient } from '../oci/index.js';
import { compileAttestorSet, type CompiledAttestation } from '../policy/index.js';
import { err, ok } from '../result/index.js';
import { parseTrustedRoot } from '../trust/index.js';
import { WorkBudget } from './budget.js';
import { checkAttestations, checkAttestationStatements, type EvaluateAttestation } from './check-attestations.js';
import { discoverAttestations, discoverSignatures } from './discover.js';
import { CAPTURED, readCaptured, serveCaptured, type CapturedRegistry } from './testdata/captured-registry.js';

const SCENARIOS = [
  'v2-attest-legacy',
  'v3-attest-bundle',
  'v3-attest-legacy',
  'v3-attest-copied',
  'v3-attest-keyless',
  'v3-bundle-rekor',
  'unsigned',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const captured = Object.fromEntries(SCENARIOS.map((s) => [s, readCaptured(s)])) as Record<
  Scenario,
  ReturnType<typeof readCaptured>
>;
const pem = (name: string) => readFileSync(join(CAPTURED, name), 'utf8');
const root = parseTrustedRoot(pem('trusted_root.json'), 'trusted_root.json');
if (!root.ok) throw new Error(root.error);
const trustRoot = root.value;

const CODE_REVIEW = 'https://example.com/CodeReview/v1';
const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const SPDX = 'https://spdx.dev/Document';
const CYCLONEDX = 'https://cyclonedx.org/bom';
const CUSTOM = 'https://cosign.sigstore.dev/attestation/v1';

const key = (name: string, extra: object = {}) => ({ keys: { publicKeys: pem(name), ...extra } });
const keyless = (subject: string) => ({
  keyless: { subject, issuer: 'https://issuer.example.com', rekor: { url: 'https://rekor.sigstore.dev' } },
});

function attestation(predicateType: string, entry: object, name?: string): CompiledAttestation {
  const set = compileAttestorSet({ entries: [entry] }, { trustRoot });
  if (!set.ok) throw new Error(set.error.map((e) => `${e.field}: ${e.message}`).join('; '));
  return {
    field: 'spec.rules[0].verifyImages[0].attestations[0]',
    ...(name ? { name } : {}),
    predicateType,
    attestors: [set.value],
    // One block, which the stand-in evaluators below answer for: with none, no predicate would be evaluated.
    conditions: { field: 'spec.rules[0].verifyImages[0].attestations[0].conditions', blocks: [{ field: 'c[0]' }] },
  };
}

/** Every predicate passes, each one recorded. */
function passing(): EvaluateAttestation & { seen: unknown[] } {
  const seen: unknown[] = [];
  const evaluate = ((_a: CompiledAttestation, predicate: unknown) => {
    seen.push(predicate);
    return ok({ pass: true });
  }) as EvaluateAttestation & { seen: unknown[] };
  evaluate.seen = seen;
  return evaluate;
}

let registry: CapturedRegistry;
let client: RegistryClient;

beforeAll(async () => {
  registry = await serveCaptured(Object.values(captured));
  client = new RegistryClient({ insecureRegistries: [registry.host] });
});

afterAll(async () => {
  await registry.close();
});

async function check(
  scenario: Scenario,
  attestations: CompiledAttestation[],
  evaluate: EvaluateAttestation = passing(),
) {
  const image = parseImageRef(`${registry.host}/${captured[scenario].repository}:v1`);
  if (!image.ok) throw new Error(image.error);
  const budget = new WorkBudget();
  const digest = captured[scenario].digest;
  const discovery = await discoverAttestations({ repository: image.value, digest }, { registry: client, budget });
  if (!discovery.ok) throw new Error(discovery.error.detail);
  return checkAttestations(attestations, discovery.value, { digest, budget, evaluate });
}

describe('checkAttestations on captured cosign output', () => {
  describe.each([
    ['cosign v2, a legacy .att layer logged as a dsse entry', 'v2-attest-legacy', CODE_REVIEW],
    ['cosign v3, an attestation bundle (slsaprovenance1)', 'v3-attest-bundle', SLSA_V1],
    ['cosign v3, an attestation bundle (vuln)', 'v3-attest-bundle', VULN],
    ['cosign v3, a legacy .att layer (spdxjson)', 'v3-attest-legacy', SPDX],
    ['cosign v3, a legacy .att layer (cyclonedx)', 'v3-attest-legacy', CYCLONEDX],
  ] as const)('when %s was signed by the policy’s key', (_what, scenario, type) => {
    it('verifies it, the transparency-log entry included, and hands its predicate to the conditions', async () => {
      const evaluate = passing();
      const outcome = await check(scenario, [attestation(type, key('k1.pub'), 'att')], evaluate);
      expect(outcome).toMatchObject({ ok: true, value: { statements: 1 } });
      expect(evaluate.seen).toHaveLength(1);
      expect(outcome.ok && outcome.value.named.get('att')).toBe(evaluate.seen[0]);
    });

    it('fails another key with AttestationInvalidSignature', async () => {
      const outcome = await check(scenario, [attestation(type, key('k2.pub'))]);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'AttestationInvalidSignature' } });
    });
  });

  describe('when the predicate is the seed’s code review', () => {
    it('gives the conditions the predicate at the root', async () => {
      const evaluate = passing();
      await check('v2-attest-legacy', [attestation(CODE_REVIEW, key('k1.pub'))], evaluate);
      expect(evaluate.seen[0]).toMatchObject({
        repo: { branch: 'main', uri: 'https://github.com/example/my-project' },
        reviewers: ['bob@example.com'],
      });
    });
  });

  describe('when the custom predicate’s Data is not JSON', () => {
    it('is given as the string cosign wrote', async () => {
      const evaluate = passing();
      const outcome = await check('v3-attest-legacy', [attestation(CUSTOM, key('k1.pub'))], evaluate);
      expect(outcome.ok).toBe(true);
      expect(evaluate.seen[0]).toMatchObject({ Data: 'reviewed-by: bob@example.com\nticket: OPS-1234\n' });
    });
  });

  describe('when no attestation of the type was made', () => {
    it('fails with AttestationNotFound, naming the types that are there', async () => {
      const outcome = await check('v3-attest-bundle', [attestation(CODE_REVIEW, key('k1.pub'))]);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'AttestationNotFound' } });
      expect(!outcome.ok && outcome.error.detail).toContain(SLSA_V1);
    });

    it('fails an unsigned image with AttestationNotFound', async () => {
      const outcome = await check('unsigned', [attestation(CODE_REVIEW, key('k1.pub'))]);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'AttestationNotFound' } });
      expect(!outcome.ok && outcome.error.detail).toContain('none were found');
    });
  });

  describe('when the image carries only a cosign v3 signature', () => {
    it('does not take the signature for an attestation', async () => {
      const outcome = await check('v3-bundle-rekor', [
        attestation('https://sigstore.dev/cosign/sign/v1', key('k1.pub')),
      ]);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'AttestationNotFound' } });
    });
  });

  describe('when the .att was copied from another image', () => {
    it('fails with SubjectMismatch', async () => {
      const outcome = await check('v3-attest-copied', [attestation(CODE_REVIEW, key('k1.pub'))]);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'SubjectMismatch' } });
    });
  });

  describe('when it was attested keyless, as a bundle and as a legacy .att layer', () => {
    it('verifies both statements for the identity in their certificates', async () => {
      const evaluate = passing();
      const outcome = await check('v3-attest-keyless', [attestation(SLSA_V02, keyless('alice@example.com'))], evaluate);
      expect(outcome).toMatchObject({ ok: true, value: { statements: 2 } });
    });

    it('fails another identity', async () => {
      const outcome = await check('v3-attest-keyless', [attestation(SLSA_V02, keyless('bob@example.com'))]);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'IdentityMismatch' } });
    });
  });

  describe('when a condition fails', () => {
    it('fails with ConditionFailed, naming the condition and carrying its message', async () => {
      const evaluate: EvaluateAttestation = () =>
        ok({ pass: false, failures: [{ field: 'conditions[0].all[1]', message: 'the branch must be main' }] });
      const outcome = await check('v2-attest-legacy', [attestation(CODE_REVIEW, key('k1.pub'))], evaluate);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'ConditionFailed' } });
      expect(!outcome.ok && outcome.error.detail).toBe(
        `predicate "${CODE_REVIEW}": conditions[0].all[1]: the branch must be main`,
      );
    });

    it('fails with ConditionFailed when the conditions cannot be evaluated', async () => {
      const evaluate: EvaluateAttestation = () =>
        err({ field: 'conditions[0].all[0].key', message: 'variable repo.url could not be resolved' });
      const outcome = await check('v2-attest-legacy', [attestation(CODE_REVIEW, key('k1.pub'))], evaluate);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'ConditionFailed' } });
      expect(!outcome.ok && outcome.error.detail).toContain('variable repo.url could not be resolved');
    });
  });

  describe('when one of several verified statements of the type fails its conditions', () => {
    it('fails the attestation, and reports each statement with its own outcome', async () => {
      let calls = 0;
      const secondFails: EvaluateAttestation = () =>
        ++calls === 2
          ? ok({ pass: false, failures: [{ field: 'conditions[0].any[0]', message: 'nope' }] })
          : ok({ pass: true });
      const slsa = attestation(SLSA_V02, keyless('alice@example.com'));
      const outcome = await check('v3-attest-keyless', [slsa], secondFails);
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'ConditionFailed' } });
      expect(!outcome.ok && outcome.error.detail).toContain('(statement 2 of 2)');

      calls = 0;
      const image = parseImageRef(`${registry.host}/${captured['v3-attest-keyless'].repository}:v1`);
      if (!image.ok) throw new Error(image.error);
      const budget = new WorkBudget();
      const digest = captured['v3-attest-keyless'].digest;
      const discovery = await discoverAttestations({ repository: image.value, digest }, { registry: client, budget });
      if (!discovery.ok) throw new Error(discovery.error.detail);
      const statements = await checkAttestationStatements(slsa, discovery.value, {
        digest,
        budget,
        evaluate: secondFails,
      });
      expect(statements.ok && statements.value.map((s) => s.failure?.reason)).toEqual([undefined, 'ConditionFailed']);
      expect(statements.ok && new Set(statements.value.map((s) => s.format))).toEqual(
        new Set(['sigstore-bundle', 'dsse-envelope']),
      );
    });
  });

  describe('when the deadline passes while statements are evaluated', () => {
    it('stops with Timeout rather than evaluating the rest', async () => {
      const image = parseImageRef(`${registry.host}/${captured['v3-attest-keyless'].repository}:v1`);
      if (!image.ok) throw new Error(image.error);
      const budget = new WorkBudget();
      const digest = captured['v3-attest-keyless'].digest;
      const discovery = await discoverAttestations({ repository: image.value, digest }, { registry: client, budget });
      if (!discovery.ok) throw new Error(discovery.error.detail);
      const deadline = new AbortController();
      let evaluated = 0;
      const abortingOnFirst: EvaluateAttestation = () => {
        evaluated++;
        deadline.abort();
        return ok({ pass: true });
      };
      const outcome = await checkAttestations([attestation(SLSA_V02, keyless('alice@example.com'))], discovery.value, {
        digest,
        budget,
        signal: deadline.signal,
        evaluate: abortingOnFirst,
      });
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'Timeout' } });
      expect(evaluated).toBe(1);
    });
  });

  describe('when several attestations are asked for', () => {
    it('needs every one of them', async () => {
      const both = await check('v3-attest-bundle', [
        attestation(SLSA_V1, key('k1.pub')),
        attestation(VULN, key('k1.pub')),
      ]);
      expect(both).toMatchObject({ ok: true, value: { statements: 2 } });
      const oneMissing = await check('v3-attest-bundle', [
        attestation(SLSA_V1, key('k1.pub')),
        attestation(SPDX, key('k1.pub')),
      ]);
      expect(oneMissing).toMatchObject({ ok: false, error: { reason: 'AttestationNotFound' } });
    });
  });
});

describe('discoverSignatures, beside attestations', () => {
  it('reads no attestation as a signature', async () => {
    const image = parseImageRef(`${registry.host}/${captured['v3-attest-bundle'].repository}:v1`);
    if (!image.ok) throw new Error(image.error);
    const found = await discoverSignatures(
      { repository: image.value, digest: captured['v3-attest-bundle'].digest },
      { registry: client, budget: new WorkBudget() },
    );
    expect(found).toMatchObject({ ok: true, value: { artifacts: [] } });
  });
});
