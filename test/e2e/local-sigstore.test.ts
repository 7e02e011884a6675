// The local Sigstore services, judged by the real cosign CLIs: what hack/fake-rekor.mjs logs and hack/fake-fulcio.mjs
// certifies must pass `cosign verify` and `cosign verify-attestation` (v2 and v3) against the trusted_root.json they
// write, in every format cosign signs, and must fail against a trusted root that names another log's key or lacks the
// CA or the CT log. The other e2e tests trust these fakes to behave as Rekor and Fulcio do; this is where that is
// checked. The log's own signature checks are judged directly: it must refuse what Rekor refuses.
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { loadEnvironment } from './support/environment.js';
import { startOtherRekor, type OtherRekor } from './support/other-rekor.js';
import { registryTools } from './support/registry-tools.js';
import { runCommand } from './support/run.js';

const env = loadEnvironment();
const OLAREG = env.vars['REGISTRY']!;
const DISTRIBUTION = env.vars['REGISTRY_NOREFERRERS']!;
const REKOR_URL = env.vars['REKOR_URL']!;
const FULCIO_URL = env.vars['FULCIO_URL']!;
const TRUSTED_ROOT = env.vars['TRUSTED_ROOT']!;
const ISSUER = 'https://issuer.example.com';
const IDENTITY = ['--certificate-identity', 'alice@example.com', '--certificate-oidc-issuer', ISSUER];
let work: string;
const { tool, pushRandomImage } = registryTools(env, () => work);

// What cosign v2.6 and v3.1 print when they accept, and why they refuse.
const LOGGED = 'Existence of the claims in the transparency log was verified offline';
const BY_KEY = 'The signatures were verified against the specified public key';
const BY_CA = 'The code-signing certificate was verified using trusted certificate authority certificates';
const OTHER_LOG = /rekor log public key not found for payload|not enough verified log entries from transparency log/;
const NO_CA = /leaf certificate verification failed/;
const NO_CT_LOG = /only able to verify 0 SCT entries/;

type Cosign = 'cosign' | 'cosign2';
/** How each cosign writes each format; cosign v3 must be kept off the public-good signing config. */
const FORMATS: readonly [string, Cosign, readonly string[]][] = [
  ['cosign v2, a legacy .sig', 'cosign2', []],
  ['cosign v3, a legacy .sig', 'cosign', ['--use-signing-config=false', '--new-bundle-format=false']],
  ['cosign v3, a Sigstore bundle', 'cosign', ['--use-signing-config=false']],
];

let otherRekor: OtherRekor | undefined;
/** Trusted roots that must not verify what the local services issued (filled in by beforeAll). */
const untrusted = {
  /** The trusted_root.json of a second fake Rekor: another log's key, and no CA. */
  otherLog: '',
  /** The local trusted root with the second Rekor's key in place of the local one: for keyless signatures. */
  otherLogWithCA: '',
  /** The local trusted root without the Fulcio CA. */
  noCA: '',
  /** The local trusted root without the CT log, so no SCT can be checked. */
  noCTLog: '',
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imprimatur-sigstore-'));
  expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', key('k1')])).code).toBe(0);
  const generate: Record<string, string[]> = {
    p384: ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    rsa: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    ed25519: ['genpkey', '-algorithm', 'ed25519'],
  };
  for (const [name, args] of Object.entries(generate)) {
    expect((await runCommand('openssl', [...args, '-out', join(work, `${name}.pem`)])).code).toBe(0);
    const imported = await tool('cosign', [
      'import-key-pair',
      '--key',
      join(work, `${name}.pem`),
      '--output-key-prefix',
      key(name),
    ]);
    expect(imported.code).toBe(0);
  }

  otherRekor = await startOtherRekor(work);
  untrusted.otherLog = otherRekor.trustedRoot;
  const local = JSON.parse(readFileSync(TRUSTED_ROOT, 'utf8')) as Record<string, unknown>;
  const other = JSON.parse(readFileSync(untrusted.otherLog, 'utf8')) as Record<string, unknown>;
  const variant = (name: string, changes: Record<string, unknown>) => {
    const file = join(work, `${name}.json`);
    writeFileSync(file, JSON.stringify({ ...local, ...changes }));
    return file;
  };
  untrusted.otherLogWithCA = variant('other-log-with-ca', { tlogs: other['tlogs'] });
  untrusted.noCA = variant('no-ca', { certificateAuthorities: [] });
  untrusted.noCTLog = variant('no-ct-log', { ctlogs: [] });
});

afterAll(async () => {
  await otherRekor?.stop();
  rmSync(work, { recursive: true, force: true });
});

function key(name: string): string {
  return join(work, name);
}

/** A test identity token for alice@example.com from the local Fulcio's token route. */
async function identityToken(): Promise<string> {
  const token = await fetch(`${FULCIO_URL}/fake/token?iss=${encodeURIComponent(ISSUER)}&email=alice@example.com`);
  expect(token.status).toBe(200);
  return (await token.text()).trim();
}

async function signKeyless(cosign: Cosign, command: readonly string[], image: string): Promise<void> {
  const signed = await tool(cosign, [
    ...command,
    '--fulcio-url',
    FULCIO_URL,
    '--rekor-url',
    REKOR_URL,
    '--identity-token',
    await identityToken(),
    '--trusted-root',
    TRUSTED_ROOT,
    image,
  ]);
  expect(signed.stderr).not.toMatch(/error/i);
  expect(signed.code).toBe(0);
}

/** Both cosign versions accept `args` with the local trusted root and print every check in `checks`. */
async function expectAccepted(command: string, args: readonly string[], checks: readonly string[]): Promise<void> {
  for (const cosign of ['cosign', 'cosign2'] as const) {
    const got = await tool(cosign, [command, ...args, '--trusted-root', TRUSTED_ROOT]);
    expect({ cosign, code: got.code, stderr: got.stderr }).toMatchObject({ cosign, code: 0 });
    for (const check of checks) expect(got.stderr).toContain(check);
  }
}

/** cosign refuses `args` with trustedRoot, for the reason `why`. */
async function expectRefused(
  cosigns: readonly Cosign[],
  command: string,
  args: readonly string[],
  trustedRoot: string,
  why: RegExp,
): Promise<void> {
  for (const cosign of cosigns) {
    const got = await tool(cosign, [command, ...args, '--trusted-root', trustedRoot]);
    expect({ cosign, code: got.code }).not.toEqual({ cosign, code: 0 });
    expect(got.stderr).toMatch(why);
  }
}

describe('key-signed, logged in the local Rekor', () => {
  it.each(FORMATS)(
    '%s: cosign v2 and v3 verify it with the trusted root, and refuse it when the root names another log',
    async (_name, cosign, flags) => {
      const image = await pushRandomImage(OLAREG, 'sigstore/keyed');
      const signed = await tool(cosign, [
        'sign',
        '--key',
        `${key('k1')}.key`,
        ...flags,
        '--rekor-url',
        REKOR_URL,
        image,
      ]);
      expect(signed.code).toBe(0);
      const args = ['--key', `${key('k1')}.pub`, image];
      await expectAccepted('verify', args, [LOGGED, BY_KEY]);
      await expectRefused(['cosign', 'cosign2'], 'verify', args, untrusted.otherLog, OTHER_LOG);
    },
  );

  it.each([
    // cosign verifies only SHA-256 digests in a legacy signature's log entry; the log must still take the others.
    ['an RSA key', 'rsa', true],
    ['a P-384 key (a SHA-384 digest)', 'p384', false],
    ['an Ed25519 key (Ed25519ph over a SHA-512 digest)', 'ed25519', false],
  ])('logs what cosign v3 signs with %s', async (_name, keyName, verifiable) => {
    const image = await pushRandomImage(OLAREG, `sigstore/${keyName}`);
    const legacy = ['--use-signing-config=false', '--new-bundle-format=false', '--rekor-url', REKOR_URL];
    const signed = await tool('cosign', ['sign', '--key', `${key(keyName)}.key`, ...legacy, image]);
    expect(signed.stderr).not.toMatch(/error/i);
    expect(signed.code).toBe(0);
    if (verifiable) await expectAccepted('verify', ['--key', `${key(keyName)}.pub`, image], [LOGGED, BY_KEY]);
  });
});

describe('keyless, certified by the local Fulcio and logged in the local Rekor', () => {
  it.each(FORMATS)(
    '%s: verified by its identity, refused without the CA, without the CT log, or with another log',
    async (_name, cosign, flags) => {
      const image = await pushRandomImage(DISTRIBUTION, 'sigstore/keyless');
      await signKeyless(cosign, ['sign', ...flags], image);
      const args = [...IDENTITY, image];
      await expectAccepted('verify', args, [LOGGED, BY_CA]);
      const both = ['cosign', 'cosign2'] as const;
      await expectRefused(both, 'verify', args, untrusted.noCA, NO_CA);
      await expectRefused(both, 'verify', args, untrusted.noCTLog, NO_CT_LOG);
      await expectRefused(both, 'verify', args, untrusted.otherLogWithCA, OTHER_LOG);
    },
  );
});

describe('attestations, logged as DSSE entries', () => {
  const ATTEST = ['attest', '--type', 'custom'];

  it.each([
    ['cosign v2, a legacy .att', 'cosign2', []],
    ['cosign v3, a Sigstore bundle', 'cosign', ['--use-signing-config=false']],
  ] as const)('key-signed by %s: verified, and refused with another log', async (_name, cosign, flags) => {
    const image = await pushRandomImage(OLAREG, 'sigstore/attested');
    const predicate = join(work, 'predicate.json');
    writeFileSync(predicate, JSON.stringify({ builder: 'imprimatur-e2e' }));
    const attested = await tool(cosign, [
      ...ATTEST,
      '--predicate',
      predicate,
      '--key',
      `${key('k1')}.key`,
      ...flags,
      '--rekor-url',
      REKOR_URL,
      image,
    ]);
    expect(attested.code).toBe(0);
    const args = ['--type', 'custom', '--key', `${key('k1')}.pub`, image];
    await expectAccepted('verify-attestation', args, [LOGGED, BY_KEY]);
    await expectRefused(['cosign', 'cosign2'], 'verify-attestation', args, untrusted.otherLog, OTHER_LOG);
  });

  // cosign v2 verifies a keyless legacy attestation only with SIGSTORE_* variables, not --trusted-root: bundles only.
  it('keyless by cosign v3, a Sigstore bundle: verified by its identity, refused without the CA or with another log', async () => {
    const image = await pushRandomImage(OLAREG, 'sigstore/attested-keyless');
    const predicate = join(work, 'predicate-keyless.json');
    writeFileSync(predicate, JSON.stringify({ builder: 'imprimatur-e2e' }));
    await signKeyless('cosign', [...ATTEST, '--predicate', predicate, '--use-signing-config=false'], image);
    const args = ['--type', 'custom', ...IDENTITY, image];
    await expectAccepted('verify-attestation', args, [LOGGED, BY_CA]);
    await expectRefused(['cosign', 'cosign2'], 'verify-attestation', args, untrusted.noCA, NO_CA);
    await expectRefused(['cosign', 'cosign2'], 'verify-attestation', args, untrusted.otherLogWithCA, OTHER_LOG);
  });
});

describe('the local Rekor checks the signature of every entry, as Rekor does', () => {
  /** Posts a proposed entry as cosign does. */
  async function propose(entry: object): Promise<{ status: number; text: string }> {
    const res = await fetch(`${REKOR_URL}/api/v1/log/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(entry),
    });
    return { status: res.status, text: await res.text() };
  }
  const b64 = (data: Uint8Array | string) => Buffer.from(data).toString('base64');

  /** A public key (PEM) and a signing function over whole messages, which the test then logs by their digest. */
  function signer({ privateKey, publicKey }: { privateKey: KeyObject; publicKey: KeyObject }, hash: string) {
    return {
      pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      sign: (data: Uint8Array): Uint8Array => sign(hash, data, privateKey),
    };
  }
  const ecdsa = (namedCurve: string, hash: string) => () => signer(generateKeyPairSync('ec', { namedCurve }), hash);
  const rsa = () => signer(generateKeyPairSync('rsa', { modulusLength: 2048 }), 'sha256');
  // Node has no Ed25519ph (RFC 8032 §5.1): noble signs it, as in pkg/cosign's checks.
  function ed25519phSigner() {
    const { secretKey, publicKey } = ed25519ph.keygen();
    const x = Buffer.from(publicKey).toString('base64url');
    return {
      pem: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString(),
      sign: (data: Uint8Array): Uint8Array => ed25519ph.sign(data, secretKey),
    };
  }

  it.each([
    ['ECDSA P-256', 'sha256', ecdsa('P-256', 'sha256')],
    ['ECDSA P-384', 'sha384', ecdsa('P-384', 'sha384')],
    ['ECDSA P-521', 'sha512', ecdsa('P-521', 'sha512')],
    ['RSA PKCS#1 v1.5', 'sha256', rsa],
    ['Ed25519ph', 'sha512', ed25519phSigner],
  ])('hashedrekord with %s: logs a signature over the digest, refuses it over another', async (_name, hash, signer) => {
    const { pem, sign: signData } = signer();
    const data = randomBytes(64);
    const entry = (digest: Buffer) => ({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: hash, value: digest.toString('hex') } },
        signature: { content: b64(signData(data)), publicKey: { content: b64(pem) } },
      },
    });
    const digestOf = (d: Uint8Array) => createHash(hash).update(d).digest();
    const logged = await propose(entry(digestOf(data)));
    expect(logged).toMatchObject({ status: 201 });
    const refused = await propose(entry(digestOf(randomBytes(64))));
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('invalid signature');
  });

  it('dsse: logs an envelope signed over its PAE, refuses one signed over the bare payload', async () => {
    const { pem, sign: signData } = ecdsa('P-256', 'sha256')();
    const payloadType = 'application/vnd.in-toto+json';
    const payload = Buffer.from(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', nonce: b64(randomBytes(8)) }),
    );
    const pae = Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `), payload]);
    const entry = (signature: Uint8Array) => ({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        proposedContent: {
          envelope: JSON.stringify({ payloadType, payload: b64(payload), signatures: [{ sig: b64(signature) }] }),
          verifiers: [b64(pem)],
        },
      },
    });
    expect(await propose(entry(signData(pae)))).toMatchObject({ status: 201 });
    const refused = await propose(entry(signData(payload)));
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('all signatures must have a key that verifies it');
  });
});
