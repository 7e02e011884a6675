import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileImagePattern } from '../imageref/index.js';
import { computeDigest, type Descriptor } from '../oci/index.js';
import type { AttestorTrust, KeylessAttestor } from '../policy/index.js';
import { parseTrustedRoot, toAttestorTrust } from '../trust/index.js';
import { createTestCa, type TestCa, type TestLeaf } from '../trust/testdata/test-ca.js';
import { createTestLog, type TestLog } from '../trust/testdata/test-log.js';
import { toBundleArtifact } from './bundle-artifact.js';
import { checkWithCertificate, type CertificateAttestor } from './check-certificate.js';
import type { ClaimRequirement } from './check-claims.js';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  toLegacyArtifact,
} from './legacy-artifact.js';
import type { SignedArtifact } from './signed-artifact.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from './statement.js';
import { keyBundle, statement, toBlob } from './testdata/signed-bundles.js';

const DIGEST = computeDigest(Buffer.from('image'));
const ISSUER = 'https://issuer.example';
const want = (digest = DIGEST, predicateType = COSIGN_SIGN_PREDICATE_TYPE): ClaimRequirement => ({
  digest,
  predicateType,
  annotations: {},
});

function keyless(trust: AttestorTrust, fields: Partial<KeylessAttestor> = {}): CertificateAttestor {
  return {
    $case: 'keyless',
    field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless',
    extensions: {},
    trust,
    annotations: {},
    ...fields,
  };
}

describe('checkWithCertificate on a Sigstore bundle', () => {
  // cosign's own keyless test vector: a v0.3 bundle with a Fulcio certificate for cody@soyland.com, a Rekor v1 dsse
  // entry with SET and inclusion proof, and the public-good trusted root of its day (pkg/cosign/testdata/README.md).
  const testdata = (name: string) => readFileSync(join(import.meta.dirname, 'testdata', name));
  const read = toBundleArtifact(
    'referrer sha256:vector',
    computeDigest(Buffer.from('vector')),
    testdata('oci-attestation.sigstore.json'),
  );
  if (!read.ok) throw new Error(read.error);
  const vector = read.value;
  const root = parseTrustedRoot(testdata('trusted_root_pgi.json').toString('utf8'), 'trusted_root_pgi.json');
  if (!root.ok) throw new Error(root.error);
  const trust: AttestorTrust = { requireTlog: true, requireSct: true, authorities: root.value };
  const VECTOR_DIGEST = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
  const PREDICATE = 'https://cosign.sigstore.dev/attestation/v1';
  const attestation = want(VECTOR_DIGEST, PREDICATE);

  describe('when the certificate leads to the trusted Fulcio CA, with its SCT and Rekor entry', () => {
    it('accepts it, with the identity of the signing certificate', () => {
      expect(checkWithCertificate(keyless(trust), vector, attestation)).toMatchObject({
        $case: 'match',
        match: { format: 'sigstore-bundle', identity: { subject: 'cody@soyland.com' } },
      });
    });
  });

  describe('when the trust root does not hold the Fulcio CA', () => {
    it('fails with InvalidSignature: no trusted certificate path', () => {
      const untrusted: AttestorTrust = { ...trust, authorities: { ...root.value, certificateAuthorities: [] } };
      expect(checkWithCertificate(keyless(untrusted), vector, attestation)).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('certificate chain') },
      });
    });
  });

  describe('when the trust root does not hold the CT log and SCTs are required', () => {
    it('fails with InvalidSignature', () => {
      const noCt: AttestorTrust = { ...trust, authorities: { ...root.value, ctlogs: [] } };
      expect(checkWithCertificate(keyless(noCt), vector, attestation)).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature' },
      });
    });
  });

  describe('when the trust root does not hold the Rekor key', () => {
    it('fails with InvalidSignature', () => {
      const noRekor: AttestorTrust = { ...trust, authorities: { ...root.value, tlogs: [] } };
      expect(checkWithCertificate(keyless(noRekor), vector, attestation)).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature' },
      });
    });
  });

  describe('when it is about another image', () => {
    it('fails with DigestMismatch', () => {
      expect(checkWithCertificate(keyless(trust), vector, want(DIGEST, PREDICATE))).toMatchObject({
        $case: 'failure',
        failure: { reason: 'DigestMismatch' },
      });
    });
  });

  describe('when a signature is expected and this is an attestation', () => {
    it('is not taken for a signature', () => {
      expect(checkWithCertificate(keyless(trust), vector, want(VECTOR_DIGEST))).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('is not a cosign signature') },
      });
    });
  });

  describe('when the log is ignored and nothing else proves the signing time', () => {
    it('fails, saying the certificate has no time to be checked at', () => {
      const ignoreTlog: AttestorTrust = { ...trust, requireTlog: false };
      expect(checkWithCertificate(keyless(ignoreTlog), vector, attestation)).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('proves no signing time') },
      });
    });
  });

  describe('when the bundle was signed with a key', () => {
    it('fails: a certificate attestor needs a certificate', () => {
      const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const signed = toBundleArtifact(
        'referrer sha256:key',
        computeDigest(Buffer.from('key')),
        toBlob(keyBundle(p256.privateKey, statement(DIGEST))),
      );
      if (!signed.ok) throw new Error(signed.error);
      expect(checkWithCertificate(keyless(trust), signed.value, want())).toMatchObject({
        $case: 'failure',
        failure: {
          reason: 'InvalidSignature',
          detail: expect.stringContaining('signed with a key, not a certificate'),
        },
      });
    });
  });
});

describe('checkWithCertificate on a legacy .sig layer', () => {
  let ca: TestCa;
  let leaf: TestLeaf;
  const log = createTestLog();
  let trust: AttestorTrust;

  function payload(digest = DIGEST): Buffer {
    return Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': 'registry.example/app' },
          image: { 'docker-manifest-digest': digest },
          type: 'cosign container image signature',
        },
        optional: null,
      }),
    );
  }

  /** A legacy .sig layer as cosign writes it for a keyless signature, logged in `logged`, as discovery reads it. */
  function signature(signer: TestLeaf, logged: TestLog | undefined, body = payload()): SignedArtifact {
    const sig = sign('sha256', body, signer.privateKey);
    const layer: Descriptor = {
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest: computeDigest(body),
      size: body.length,
      annotations: {
        [SIGNATURE_ANNOTATION]: sig.toString('base64'),
        [CERTIFICATE_ANNOTATION]: signer.pem,
        ...(logged
          ? { [BUNDLE_ANNOTATION]: logged.logSignature({ payload: body, signature: sig, signerPem: signer.pem }) }
          : {}),
      },
    };
    return toLegacyArtifact('sha256-test.sig layer 0', layer, body);
  }

  beforeAll(async () => {
    ca = await createTestCa();
    leaf = await ca.issue({ email: 'dev@example.com', issuer: ISSUER });
    trust = {
      requireTlog: true,
      requireSct: false,
      authorities: toAttestorTrust(log.trustRoot, { roots: [ca.rootDer] }),
    };
  });

  describe('when a certificate from the trusted CA signed it and the log recorded it', () => {
    it('verifies, with the identity and the time the log proves', () => {
      const check = checkWithCertificate(
        keyless(trust, { subject: compileImagePattern('*@example.com'), issuer: compileImagePattern(ISSUER) }),
        signature(leaf, log),
        want(),
      );
      expect(check).toMatchObject({
        $case: 'match',
        match: {
          format: 'simple-signing',
          scheme: 'ecdsa-sha256',
          identity: { subject: 'dev@example.com', issuer: ISSUER },
          loggedAt: expect.any(String),
        },
      });
    });
  });

  describe('when the subject is someone else', () => {
    it('fails with IdentityMismatch and Kyverno’s words', () => {
      const check = checkWithCertificate(
        keyless(trust, { subject: compileImagePattern('ops@example.com') }),
        signature(leaf, log),
        want(),
      );
      expect(check).toMatchObject({
        $case: 'failure',
        failure: {
          reason: 'IdentityMismatch',
          detail: expect.stringContaining('subject mismatch: expected ops@example.com, received dev@example.com'),
        },
      });
    });
  });

  describe('when the certificate comes from a CA that is not trusted', () => {
    it('fails with InvalidSignature from the chain check', async () => {
      const stranger = await (await createTestCa('stranger')).issue({ email: 'dev@example.com', issuer: ISSUER });
      expect(checkWithCertificate(keyless(trust), signature(stranger, log), want())).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('certificate chain') },
      });
    });
  });

  describe('when the certificate had expired when the log recorded the signature', () => {
    it('fails with InvalidSignature', async () => {
      const old = await ca.issue({
        email: 'dev@example.com',
        issuer: ISSUER,
        notBefore: new Date(Date.now() - 7_200_000),
        notAfter: new Date(Date.now() - 3_600_000),
      });
      expect(checkWithCertificate(keyless(trust), signature(old, log), want())).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('expired') },
      });
    });
  });

  describe('when the certificate is a TLS server’s, not a code signer’s', () => {
    it('fails with InvalidSignature, as cosign does', async () => {
      const server = await ca.issue({ email: 'dev@example.com', issuer: ISSUER, usage: 'serverAuth' });
      expect(checkWithCertificate(keyless(trust), signature(server, log), want())).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('not for code signing') },
      });
    });
  });

  describe('when the signature has no transparency-log entry', () => {
    it('fails: nothing proves when the certificate signed', () => {
      expect(checkWithCertificate(keyless(trust), signature(leaf, undefined), want())).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('no transparency-log entry') },
      });
    });
  });

  describe('when the signature is for another image', () => {
    it('fails with DigestMismatch', () => {
      const other = computeDigest(Buffer.from('other'));
      expect(checkWithCertificate(keyless(trust), signature(leaf, log, payload(other)), want())).toMatchObject({
        $case: 'failure',
        failure: { reason: 'DigestMismatch' },
      });
    });
  });

  describe('when a certificate attestor names another certificate', () => {
    it('fails with IdentityMismatch', async () => {
      const other = await ca.issue({ email: 'dev@example.com', issuer: ISSUER });
      const attestor: CertificateAttestor = {
        $case: 'certificate',
        field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].certificates',
        cert: new X509Certificate(other.pem),
        chain: [],
        trust,
        annotations: {},
      };
      expect(checkWithCertificate(attestor, signature(leaf, log), want())).toMatchObject({
        $case: 'failure',
        failure: { reason: 'IdentityMismatch' },
      });
    });
  });
});
