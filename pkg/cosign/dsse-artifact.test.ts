// Legacy .att layers as cosign v2 wrote them (testdata/captured/v2-attest-legacy), checked with the key that signed
// them and the Rekor entry they carry; then changed the ways an attacker could change them.
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AttestorTrust, KeyAttestor } from '../policy/index.js';
import type { Descriptor } from '../oci/index.js';
import { parseTrustedRoot } from '../trust/index.js';
import { checkWithKey } from './check-key.js';
import { toDsseArtifacts } from './dsse-artifact.js';
import { CAPTURED, readCaptured } from './testdata/captured-registry.js';

const captured = readCaptured('v2-attest-legacy');
const att = Object.values(captured.manifests)
  .map((m) => JSON.parse(Buffer.from(m.body, 'base64').toString('utf8')) as { layers?: Descriptor[] })
  .find((m) => m.layers?.[0]?.mediaType === 'application/vnd.dsse.envelope.v1+json')!;
const layer = att.layers![0]!;
const blob = Buffer.from(captured.blobs[layer.digest]!, 'base64');
const root = parseTrustedRoot(readFileSync(join(CAPTURED, 'trusted_root.json'), 'utf8'), 'trusted_root.json');
if (!root.ok) throw new Error(root.error);
const trust: AttestorTrust = { requireTlog: true, requireSct: false, authorities: root.value };
const want = { digest: captured.digest, predicateType: 'https://example.com/CodeReview/v1', annotations: {} };

function attestor(name: string): KeyAttestor {
  return {
    $case: 'key',
    field: 'spec.rules[0].verifyImages[0].key',
    keyIndex: 0,
    key: createPublicKey(readFileSync(join(CAPTURED, name), 'utf8')),
    trust,
    annotations: {},
    signatureAlgorithm: 'sha256',
  };
}

function read(bytes: Uint8Array, descriptor: Descriptor = layer) {
  const artifacts = toDsseArtifacts('sha256-x.att layer 0', descriptor, bytes);
  if (!artifacts.ok) throw new Error(artifacts.error);
  return artifacts.value;
}

describe('a legacy .att layer', () => {
  describe('as cosign v2 wrote it, with its dsse log entry', () => {
    it('verifies with the key that signed it, at the time the log proves', () => {
      const [artifact] = read(blob);
      expect(checkWithKey(attestor('k1.pub'), artifact!, want)).toMatchObject({
        $case: 'match',
        match: { format: 'dsse-envelope', loggedAt: expect.stringMatching(/^\d{4}-/) },
      });
    });

    it('is unrelated to another key', () => {
      const [artifact] = read(blob);
      expect(checkWithKey(attestor('k2.pub'), artifact!, want)).toEqual({ $case: 'unrelated' });
    });
  });

  describe('when the envelope was written again (the same signature and payload, other bytes)', () => {
    it('no longer matches its log entry', () => {
      const rewritten = Buffer.from(JSON.stringify(JSON.parse(blob.toString('utf8')), null, 1));
      const [artifact] = read(rewritten);
      expect(checkWithKey(attestor('k1.pub'), artifact!, want)).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('envelope hash') },
      });
    });
  });

  describe('when its log entry annotation was removed', () => {
    it('fails: the policy requires the log', () => {
      const annotations = Object.fromEntries(
        Object.entries(layer.annotations ?? {}).filter(([name]) => name !== 'dev.sigstore.cosign/bundle'),
      );
      const [artifact] = read(blob, { ...layer, annotations });
      expect(checkWithKey(attestor('k1.pub'), artifact!, want)).toMatchObject({
        $case: 'failure',
        failure: { detail: expect.stringContaining('no transparency-log entry') },
      });
    });
  });

  describe('when the statement was changed under its signature', () => {
    it('is unrelated to the key, which did not sign it', () => {
      const envelope = JSON.parse(blob.toString('utf8')) as { payload: string };
      const payload = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Record<string, unknown>;
      const forged = {
        ...envelope,
        payload: Buffer.from(JSON.stringify({ ...payload, predicate: {} })).toString('base64'),
      };
      const [artifact] = read(Buffer.from(JSON.stringify(forged)));
      expect(checkWithKey(attestor('k1.pub'), artifact!, want)).toEqual({ $case: 'unrelated' });
    });
  });

  describe('when it is not an envelope', () => {
    it.each([
      ['not JSON', 'nope', 'is not JSON'],
      ['an array', '[]', 'not a JSON object'],
      ['without payloadType', '{"payload":"","signatures":[{"sig":""}]}', 'no payloadType'],
      [
        'with a payload that is not base64',
        '{"payloadType":"x","payload":"%%%","signatures":[{"sig":""}]}',
        'not base64',
      ],
      ['without signatures', '{"payloadType":"x","payload":"","signatures":[]}', 'no signatures'],
    ])('says so when it is %s', (_what, text, message) => {
      const read = toDsseArtifacts('layer', layer, Buffer.from(text));
      expect(read).toMatchObject({ ok: false, error: expect.stringContaining(message) });
    });

    it('reads at most four signatures of one envelope', () => {
      const envelope = JSON.parse(blob.toString('utf8')) as { signatures: unknown[] };
      const many = { ...envelope, signatures: Array.from({ length: 50 }, () => envelope.signatures[0]) };
      expect(read(Buffer.from(JSON.stringify(many)))).toHaveLength(4);
    });
  });
});
