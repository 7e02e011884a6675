// verifyImage on what the real cosign CLIs wrote (pkg/cosign/testdata/captured, made by
// hack/capture-cosign-fixtures.mjs against the local registry, Rekor and Fulcio): one captured case for every
// outcome, served byte for byte to the real registry client.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseImageRef } from '../imageref/index.js';
import { RegistryClient } from '../oci/index.js';
import { compileAttestorSet, type CompiledAttestorSet } from '../policy/index.js';
import { parseTrustedRoot } from '../trust/index.js';
import { CAPTURED, readCaptured, serveCaptured, type CapturedRegistry } from './testdata/captured-registry.js';
import { verifyImage } from './verify-image.js';

const SCENARIOS = [
  'v2-legacy-rekor',
  'v3-bundle-rekor',
  'v3-legacy-annotated',
  'v3-legacy-copied',
  'v3-keyless-legacy',
  'v3-keyless-bundle',
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

/** The attestor sets of a one-entry policy, compiled against the captured trust root. */
function attestors(entry: object): CompiledAttestorSet[] {
  const compiled = compileAttestorSet({ entries: [entry] }, { trustRoot });
  if (!compiled.ok) throw new Error(compiled.error.map((e) => `${e.field}: ${e.message}`).join('; '));
  return [compiled.value];
}

const key = (name: string, extra: object = {}) => ({ keys: { publicKeys: pem(name) }, ...extra });
const keyless = (subject: string) => ({
  keyless: { subject, issuer: 'https://issuer.example.com', rekor: { url: 'https://rekor.sigstore.dev' } },
});

let registry: CapturedRegistry;
let client: RegistryClient;

beforeAll(async () => {
  registry = await serveCaptured(Object.values(captured));
  client = new RegistryClient({ insecureRegistries: [registry.host] });
});

afterAll(async () => {
  await registry.close();
});

async function verify(scenario: Scenario, entry: object) {
  const image = parseImageRef(`${registry.host}/${captured[scenario].repository}:v1`);
  if (!image.ok) throw new Error(image.error);
  return verifyImage({ image: image.value, attestors: attestors(entry) }, { registry: client });
}

describe('verifyImage on captured cosign output', () => {
  describe.each([
    ['cosign v2, legacy .sig with a Rekor SET', 'v2-legacy-rekor', 'simple-signing'],
    ['cosign v3, Sigstore bundle with a Rekor entry', 'v3-bundle-rekor', 'sigstore-bundle'],
  ] as const)('when %s was signed by the policy’s key', (_what, scenario, format) => {
    it('is verified, for the captured digest, with the logged time', async () => {
      const outcome = await verify(scenario, key('k1.pub'));
      expect(outcome).toMatchObject({ verified: true, digest: captured[scenario].digest, matches: [{ format }] });
    });

    it('fails another key with invalid signature', async () => {
      const outcome = await verify(scenario, key('k2.pub'));
      expect(outcome).toMatchObject({ verified: false, reason: 'InvalidSignature' });
      expect(!outcome.verified && outcome.message).toMatch(/^image verification failed for .*: invalid signature: /);
    });
  });

  describe('when the image is not signed', () => {
    it('fails with signature not found', async () => {
      const outcome = await verify('unsigned', key('k1.pub'));
      expect(outcome).toMatchObject({ verified: false, reason: 'SignatureNotFound' });
      expect(!outcome.verified && outcome.message).toMatch(/: signature not found: /);
    });
  });

  describe('when the .sig was copied from another image', () => {
    it('fails with DigestMismatch', async () => {
      const outcome = await verify('v3-legacy-copied', key('k1.pub'));
      expect(outcome).toMatchObject({ verified: false, reason: 'DigestMismatch' });
    });
  });

  describe('when the policy requires an annotation the signature does not carry', () => {
    it('fails with AnnotationMismatch, and passes with the one it carries', async () => {
      const wrong = await verify('v3-legacy-annotated', key('k1.pub', { annotations: { team: 'security' } }));
      expect(wrong).toMatchObject({ verified: false, reason: 'AnnotationMismatch' });
      const right = await verify('v3-legacy-annotated', key('k1.pub', { annotations: { team: 'payments' } }));
      expect(right.verified).toBe(true);
    });
  });

  describe.each([
    ['a legacy .sig', 'v3-keyless-legacy'],
    ['a Sigstore bundle', 'v3-keyless-bundle'],
  ] as const)('when %s was signed keyless', (_what, scenario) => {
    it('is verified for the identity in its certificate', async () => {
      const outcome = await verify(scenario, keyless('alice@example.com'));
      expect(outcome).toMatchObject({
        verified: true,
        matches: [{ identity: { subject: 'alice@example.com', issuer: 'https://issuer.example.com' } }],
      });
    });

    it('fails another identity with IdentityMismatch', async () => {
      const outcome = await verify(scenario, keyless('bob@example.com'));
      expect(outcome).toMatchObject({ verified: false, reason: 'IdentityMismatch' });
      expect(!outcome.verified && outcome.message).toContain(
        'subject mismatch: expected bob@example.com, received alice@example.com',
      );
    });
  });

  describe('when the registry does not know the repository', () => {
    it('fails with RegistryError and the OCI code', async () => {
      const image = parseImageRef(`${registry.host}/capture/nowhere:v1`);
      if (!image.ok) throw new Error(image.error);
      const outcome = await verifyImage(
        { image: image.value, attestors: attestors(key('k1.pub')) },
        { registry: client },
      );
      expect(outcome).toMatchObject({ verified: false, reason: 'RegistryError', ociCode: 'MANIFEST_UNKNOWN' });
    });
  });
});
