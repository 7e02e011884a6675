import { sign } from 'node:crypto';
import { compileImagePattern } from '../imageref/index.js';
import { computeDigest, type Descriptor } from '../oci/index.js';
import type { AttestorTrust, CompiledAttestor } from '../policy/index.js';
import { toAttestorTrust } from '../trust/index.js';
import { createTestCa, type TestCa, type TestLeaf } from '../trust/testdata/test-ca.js';
import { createTestLog, type TestLog } from '../trust/testdata/test-log.js';
import { checkCertificateSignature, type CertificateAttestor } from './certificate-signatures.js';
import type { LegacySignature } from './discover.js';

const DIGEST = computeDigest(Buffer.from('image'));
const ISSUER = 'https://issuer.example';

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

/** A legacy .sig layer as cosign writes it for a keyless signature, logged in `log`. */
function signature(leaf: TestLeaf, log: TestLog | undefined, body = payload()): LegacySignature {
  const sig = sign('sha256', body, leaf.privateKey);
  const layer: Descriptor = {
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: computeDigest(body),
    size: body.length,
  };
  return {
    source: 'sha256-test.sig layer 0',
    layer,
    payload: body,
    signature: sig,
    certificate: leaf.pem,
    ...(log ? { bundle: log.logSignature({ payload: body, signature: sig, signerPem: leaf.pem }) } : {}),
  };
}

describe('checkCertificateSignature', () => {
  let ca: TestCa;
  let leaf: TestLeaf;
  const log = createTestLog();
  let trust: AttestorTrust;
  const keyless = (fields: Partial<Extract<CompiledAttestor, { $case: 'keyless' }>> = {}): CertificateAttestor => ({
    $case: 'keyless',
    field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless',
    extensions: {},
    trust,
    annotations: {},
    ...fields,
  });

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
      const check = checkCertificateSignature(
        signature(leaf, log),
        keyless({ subject: compileImagePattern('*@example.com'), issuer: compileImagePattern(ISSUER) }),
        DIGEST,
      );
      expect(check).toMatchObject({
        ok: true,
        value: { scheme: 'ecdsa-sha256', identity: { subject: 'dev@example.com', issuer: ISSUER } },
      });
    });
  });

  describe('when the subject is someone else', () => {
    it('fails with IdentityMismatch and Kyverno’s words', () => {
      const check = checkCertificateSignature(
        signature(leaf, log),
        keyless({ subject: compileImagePattern('ops@example.com') }),
        DIGEST,
      );
      expect(check).toMatchObject({
        ok: false,
        reason: 'IdentityMismatch',
        detail: expect.stringContaining('subject mismatch: expected ops@example.com, received dev@example.com'),
      });
    });
  });

  describe('when the certificate comes from a CA that is not trusted', () => {
    it('fails with InvalidSignature from the chain check', async () => {
      const stranger = await (await createTestCa('stranger')).issue({ email: 'dev@example.com', issuer: ISSUER });
      const check = checkCertificateSignature(signature(stranger, log), keyless(), DIGEST);
      expect(check).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
        detail: expect.stringContaining('certificate chain'),
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
      const check = checkCertificateSignature(signature(old, log), keyless(), DIGEST);
      expect(check).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
        detail: expect.stringContaining('expired'),
      });
    });
  });

  describe('when the certificate is a TLS server’s, not a code signer’s', () => {
    it('fails with InvalidSignature, as cosign does', async () => {
      const server = await ca.issue({ email: 'dev@example.com', issuer: ISSUER, usage: 'serverAuth' });
      const check = checkCertificateSignature(signature(server, log), keyless(), DIGEST);
      expect(check).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
        detail: expect.stringContaining('not for code signing'),
      });
    });
  });

  describe('when the signature has no transparency-log entry', () => {
    it('fails: nothing proves when the certificate signed', () => {
      const check = checkCertificateSignature(signature(leaf, undefined), keyless(), DIGEST);
      expect(check).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
        detail: expect.stringContaining('no transparency-log entry'),
      });
    });
  });

  describe('when the signature is for another image', () => {
    it('fails with DigestMismatch', () => {
      const other = computeDigest(Buffer.from('other'));
      const check = checkCertificateSignature(signature(leaf, log, payload(other)), keyless(), DIGEST);
      expect(check).toMatchObject({ ok: false, reason: 'DigestMismatch' });
    });
  });

  describe('when a certificate attestor names another certificate', () => {
    it('fails with IdentityMismatch', async () => {
      const other = await ca.issue({ email: 'dev@example.com', issuer: ISSUER });
      const { X509Certificate } = await import('node:crypto');
      const attestor: CertificateAttestor = {
        $case: 'certificate',
        field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].certificates',
        cert: new X509Certificate(other.pem),
        chain: [],
        trust,
        annotations: {},
      };
      const check = checkCertificateSignature(signature(leaf, log), attestor, DIGEST);
      expect(check).toMatchObject({ ok: false, reason: 'IdentityMismatch' });
    });
  });
});
