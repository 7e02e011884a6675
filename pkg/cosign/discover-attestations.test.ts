// discoverAttestations on a registry in memory: where attestations are looked for, and what is left unread.
import { generateKeyPairSync, sign } from 'node:crypto';
import { computeDigest } from '../oci/index.js';
import { compileConditions } from '../conditions/index.js';
import { compileAttestorSet, type CompiledAttestation } from '../policy/index.js';
import { toPreAuthenticationEncoding } from './bundle-artifact.js';
import { WorkBudget } from './budget.js';
import { checkAttestations } from './check-attestations.js';
import { discoverAttestations } from './discover.js';
import { FakeRegistry } from './testdata/fake-registry.js';

const IMAGE = computeDigest(Buffer.from('image'));
const REPOSITORY = { registry: 'registry.example', repository: 'team/app' };
const KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** A DSSE envelope over a statement of `predicateType` about the image, signed with KEY. */
function envelope(predicateType: string, predicate: unknown = { note: predicateType }): Uint8Array {
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType,
    subject: [{ name: 'registry.example/team/app', digest: { sha256: IMAGE.slice('sha256:'.length) } }],
    predicate,
  };
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = sign('sha256', toPreAuthenticationEncoding('application/vnd.in-toto+json', payload), KEY.privateKey);
  return Buffer.from(
    JSON.stringify({
      payloadType: 'application/vnd.in-toto+json',
      payload: payload.toString('base64'),
      signatures: [{ keyid: '', sig: sig.toString('base64') }],
    }),
  );
}

const declared = (predicateType: string) => ({ predicateType, 'dev.cosignproject.cosign/signature': '' });

async function discover(registry: FakeRegistry, predicateTypes?: ReadonlySet<string>) {
  const found = await discoverAttestations(
    { repository: REPOSITORY, digest: IMAGE },
    { registry, budget: new WorkBudget() },
    predicateTypes,
  );
  if (!found.ok) throw new Error(found.error.detail);
  return found.value;
}

const statementType = (a: { claims: { ok: boolean; value?: unknown } }) =>
  a.claims.ok ? (a.claims.value as { predicateType: string }).predicateType : undefined;

describe('discoverAttestations', () => {
  describe.each([
    ['cosign’s attestation artifact type', 'application/vnd.dev.cosign.artifact.att.v1+json'],
    ['the in-toto artifact type', 'application/vnd.in-toto+json'],
  ])('when attestations are stored as a referrer of %s', (_what, artifactType) => {
    it('reads its DSSE layers', async () => {
      const registry = new FakeRegistry(IMAGE);
      registry.putAttestationReferrer(artifactType, [
        {
          envelope: envelope('https://slsa.dev/provenance/v1'),
          annotations: declared('https://slsa.dev/provenance/v1'),
        },
      ]);
      const found = await discover(registry);
      expect(found.artifacts.map(statementType)).toEqual(['https://slsa.dev/provenance/v1']);
      expect(found.artifacts[0]).toMatchObject({ format: 'dsse-envelope' });
    });
  });

  describe('when the .att manifest declares types the admission does not ask for', () => {
    it('reads only the layers of the types asked for', async () => {
      const registry = new FakeRegistry(IMAGE);
      registry.putAttestations([
        { envelope: envelope('https://spdx.dev/Document'), annotations: declared('https://spdx.dev/Document') },
        { envelope: envelope('https://cyclonedx.org/bom'), annotations: declared('https://cyclonedx.org/bom') },
      ]);
      const found = await discover(registry, new Set(['https://cyclonedx.org/bom']));
      expect(found.artifacts.map(statementType)).toEqual(['https://cyclonedx.org/bom']);
      expect(registry.calls.filter((c) => c === 'getBlob')).toHaveLength(1);
    });

    it('reads a layer that declares no type, whatever it holds', async () => {
      const registry = new FakeRegistry(IMAGE);
      registry.putAttestations([{ envelope: envelope('https://spdx.dev/Document'), annotations: {} }]);
      const found = await discover(registry, new Set(['https://cyclonedx.org/bom']));
      expect(found.artifacts.map(statementType)).toEqual(['https://spdx.dev/Document']);
    });
  });

  describe('when a bundle referrer declares another type than those asked for', () => {
    it('is not read', async () => {
      const registry = new FakeRegistry(IMAGE);
      registry.putBundle(Buffer.from('{}'), { predicateType: 'https://spdx.dev/Document' });
      await discover(registry, new Set(['https://cyclonedx.org/bom']));
      expect(registry.calls.filter((c) => c === 'getBlob')).toHaveLength(0);
    });
  });

  describe('when an entry of type SigstoreBundle asks for bundles alone', () => {
    it('reads neither the .att manifest nor a legacy attestation referrer', async () => {
      const registry = new FakeRegistry(IMAGE);
      const provenance = 'https://slsa.dev/provenance/v1';
      registry.putAttestations([{ envelope: envelope(provenance), annotations: declared(provenance) }]);
      registry.putAttestationReferrer('application/vnd.dev.cosign.artifact.att.v1+json', [
        { envelope: envelope(provenance), annotations: declared(provenance) },
      ]);
      const found = await discoverAttestations(
        { repository: REPOSITORY, digest: IMAGE },
        { registry, budget: new WorkBudget(), layouts: 'bundles' },
      );
      expect(found.ok && found.value.artifacts).toEqual([]);
      expect(registry.calls).toEqual(['listReferrers']);
      // Every layout (type Cosign) finds both.
      expect((await discover(registry)).artifacts.map(statementType)).toEqual([provenance, provenance]);
    });
  });

  describe('when the image carries only cosign signature bundles', () => {
    it('reads none of them as attestations', async () => {
      const registry = new FakeRegistry(IMAGE);
      registry.putBundle(Buffer.from('{}'));
      const found = await discover(registry);
      expect(found.artifacts).toEqual([]);
      expect(registry.calls.filter((c) => c === 'getManifest')).toHaveLength(1);
    });
  });
});

describe('checkAttestations on a plain-text predicate (cosign attest --type spdx)', () => {
  const spdx = 'SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n';
  const publicKeys = KEY.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const set = compileAttestorSet({ entries: [{ keys: { publicKeys, rekor: { ignoreTlog: true } } }] });
  if (!set.ok) throw new Error(set.error.map((e) => e.message).join('; '));

  async function check(conditions: CompiledAttestation['conditions']) {
    const registry = new FakeRegistry(IMAGE);
    registry.putAttestations([
      { envelope: envelope('https://spdx.dev/Document', spdx), annotations: declared('https://spdx.dev/Document') },
    ]);
    const found = await discover(registry);
    const attestation: CompiledAttestation = {
      field: 'attestations[0]',
      predicateType: 'https://spdx.dev/Document',
      attestors: [set.ok ? set.value : (undefined as never)],
      conditions,
    };
    return checkAttestations([attestation], found, {
      digest: IMAGE,
      budget: new WorkBudget(),
      evaluate: () => ({ ok: true, value: { pass: true } }),
    });
  }

  it('verifies without conditions, which would have nothing to read', async () => {
    expect(await check({ field: 'attestations[0].conditions', blocks: [] })).toMatchObject({ ok: true });
  });

  it('fails conditions, which need a predicate object, with ConditionFailed', async () => {
    const conditions = compileConditions(
      [{ all: [{ key: '{{ name }}', operator: 'Equals', value: 'x' }] }],
      'attestations[0].conditions',
    );
    if (!conditions.ok) throw new Error('conditions');
    expect(await check(conditions.value)).toMatchObject({ ok: false, error: { reason: 'ConditionFailed' } });
  });
});
