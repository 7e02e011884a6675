// `imprimatur verify-image` against signatures the real cosign CLIs wrote into the real registries: the legacy
// simple-signing layouts of cosign v3 (--new-bundle-format=false) and v2, in the image's repository, in a separate
// one (COSIGN_REPOSITORY), and as OCI 1.1 referrers; keys of every type cosign signs with.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment } from './support/environment.js';
import { startOtherRekor } from './support/other-rekor.js';
import { registryTools } from './support/registry-tools.js';
import { runCommand } from './support/run.js';

const env = loadEnvironment();
const OLAREG = env.vars['REGISTRY']!;
const DISTRIBUTION = env.vars['REGISTRY_NOREFERRERS']!;
let work: string;
const { tool, imprimatur, pushRandomImage } = registryTools(env, () => work);

const LEGACY_V3 = ['--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=false'];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imprimatur-verify-'));
  for (const name of ['k1', 'k2']) {
    expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', key(name)])).code).toBe(0);
  }
  // Keys cosign does not generate itself, imported the way a user would.
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
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function key(name: string): string {
  return join(work, name);
}

/** Signatures made with --tlog-upload=false have no log entry: accept that, as cosign --insecure-ignore-tlog does. */
function verify(image: string, args: readonly string[]) {
  return imprimatur([
    'verify-image',
    image,
    ...args,
    '--insecure-ignore-tlog',
    '--insecure-registry',
    image.split('/')[0]!,
  ]);
}

function pushImage(host: string, repository: string): Promise<string> {
  return pushRandomImage(host, repository);
}

async function sign(
  cosign: 'cosign' | 'cosign2',
  keyName: string,
  image: string,
  extra: readonly string[] = [],
  extraEnv = {},
) {
  const args = cosign === 'cosign' ? LEGACY_V3 : ['--tlog-upload=false'];
  const signed = await tool(cosign, ['sign', '--key', `${key(keyName)}.key`, ...args, ...extra, image], extraEnv);
  expect(signed.stderr).not.toMatch(/error/i);
  expect(signed.code).toBe(0);
}

describe('imprimatur verify-image', () => {
  describe.each([
    ['olareg', () => OLAREG],
    ['distribution', () => DISTRIBUTION],
  ])('on %s', (_name, host) => {
    it('verifies a cosign v3 legacy signature and names the key and the digest', async () => {
      const image = await pushImage(host(), 'verify/v3');
      await sign('cosign', 'k1', image);
      const byTag = image.replace(/@sha256:.*/, ':v1');
      const got = await verify(byTag, ['--key', `${key('k1')}.pub`]);
      expect(got.stderr).toBe('');
      expect(got.code).toBe(0);
      expect(got.stdout).toContain(`verified ${image}`);
      expect(got.stdout).toContain(`key ${key('k1')}.pub: ecdsa-sha256`);
    });

    it('verifies the cosign v3 default: a Sigstore bundle attached as a referrer', async () => {
      const image = await pushImage(host(), 'verify/bundle');
      const signed = await tool('cosign', [
        'sign',
        '--key',
        `${key('k1')}.key`,
        '--use-signing-config=false',
        '--tlog-upload=false',
        image,
      ]);
      expect(signed.code).toBe(0);
      const got = await verify(image, ['--key', `${key('k1')}.pub`, '--output', 'json']);
      expect(got.stderr).toBe('');
      expect(JSON.parse(got.stdout)).toMatchObject({ verified: true, matches: [{ format: 'sigstore-bundle' }] });
      const other = await verify(image, ['--key', `${key('k2')}.pub`]);
      expect(other.code).toBe(1);
      expect(other.stderr).toContain(': invalid signature');
    });

    it('verifies a cosign v2 signature', async () => {
      const image = await pushImage(host(), 'verify/v2');
      await sign('cosign2', 'k1', image);
      expect((await verify(image, ['--key', `${key('k1')}.pub`])).code).toBe(0);
    });

    it('fails an unsigned image with the seed’s words', async () => {
      const image = await pushImage(host(), 'verify/unsigned');
      const got = await verify(image, ['--key', `${key('k1')}.pub`]);
      expect(got.code).toBe(1);
      expect(got.stderr).toMatch(new RegExp(`^image verification failed for ${escape(image)}: signature not found`));
    });

    it('fails an image signed with another key with the seed’s words', async () => {
      const image = await pushImage(host(), 'verify/other');
      await sign('cosign', 'k2', image);
      const got = await verify(image, ['--key', `${key('k1')}.pub`, '--output', 'json']);
      expect(got.code).toBe(1);
      expect(JSON.parse(got.stdout)).toMatchObject({ verified: false, reason: 'InvalidSignature' });
      expect(JSON.parse(got.stdout).message).toMatch(
        new RegExp(`^image verification failed for ${escape(image)}: invalid signature`),
      );
    });
  });

  it('fails a .sig copied from another image with DigestMismatch', async () => {
    const signed = await pushImage(OLAREG, 'verify/copied');
    await sign('cosign', 'k1', signed);
    const victim = await pushImage(OLAREG, 'verify/copied');
    const tagOf = (ref: string) => `${ref.split('@')[1]!.replace(':', '-')}.sig`;
    const repo = `${OLAREG}/verify/copied`;
    expect((await tool('crane', ['copy', `${repo}:${tagOf(signed)}`, `${repo}:${tagOf(victim)}`])).code).toBe(0);
    const got = await verify(victim, ['--key', `${key('k1')}.pub`, '--output', 'json']);
    expect(got.code).toBe(1);
    expect(JSON.parse(got.stdout)).toMatchObject({ reason: 'DigestMismatch' });
    expect(JSON.parse(got.stdout).message).toContain(`is for ${signed.split('@')[1]}`);
  });

  it('requires every key unless --count says otherwise', async () => {
    const image = await pushImage(DISTRIBUTION, 'verify/two');
    await sign('cosign', 'k1', image);
    await sign('cosign2', 'k2', image);
    const both = await verify(image, ['--key', `${key('k1')}.pub`, '--key', `${key('k2')}.pub`]);
    expect(both.code).toBe(0);
    expect(both.stdout).toContain(`key ${key('k1')}.pub`);
    expect(both.stdout).toContain(`key ${key('k2')}.pub`);
    const third = await pushImage(DISTRIBUTION, 'verify/one');
    await sign('cosign', 'k1', third);
    expect((await verify(third, ['--key', `${key('k1')}.pub`, '--key', `${key('k2')}.pub`])).code).toBe(1);
    expect((await verify(third, ['--key', `${key('k1')}.pub`, '--key', `${key('k2')}.pub`, '--count', '1'])).code).toBe(
      0,
    );
  });

  it('finds signatures in a separate repository (COSIGN_REPOSITORY)', async () => {
    const image = await pushImage(OLAREG, 'verify/elsewhere');
    await sign('cosign', 'k1', image, [], { COSIGN_REPOSITORY: `${OLAREG}/signatures/store` });
    expect((await verify(image, ['--key', `${key('k1')}.pub`])).stderr).toContain('signature not found');
    const got = await verify(image, ['--key', `${key('k1')}.pub`, '--repository', `${OLAREG}/signatures/store`]);
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
  });

  describe('with annotations (cosign sign -a), as cosign verify -a checks them', () => {
    it.each([
      ['a Sigstore bundle', ['--use-signing-config=false', '--tlog-upload=false']],
      ['a legacy .sig', LEGACY_V3],
    ])('binds them in %s: the signer’s values pass, others fail with AnnotationMismatch', async (_name, flags) => {
      const image = await pushImage(OLAREG, 'verify/annotated');
      const signed = await tool('cosign', ['sign', '--key', `${key('k1')}.key`, ...flags, '-a', 'env=staging', image]);
      expect(signed.code).toBe(0);
      const same = await verify(image, ['--key', `${key('k1')}.pub`, '-a', 'env=staging']);
      expect(same.stderr).toBe('');
      expect(same.code).toBe(0);
      const other = await verify(image, ['--key', `${key('k1')}.pub`, '-a', 'env=prod', '--output', 'json']);
      expect(other.code).toBe(1);
      const outcome = JSON.parse(other.stdout) as { reason: string; message: string };
      expect(outcome.reason).toBe('AnnotationMismatch');
      expect(outcome.message).toMatch(
        new RegExp(`^image verification failed for ${escape(image)}: invalid signature: `),
      );
      expect(outcome.message).toContain('"env" is "staging", the policy requires "prod"');
      const missing = await verify(image, ['--key', `${key('k1')}.pub`, '-a', 'team=a']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('"team" is none');
    });
  });

  it('finds legacy signatures stored as OCI 1.1 referrers', async () => {
    const image = await pushImage(OLAREG, 'verify/referrer');
    await sign('cosign', 'k1', image, ['--registry-referrers-mode=oci-1-1'], { COSIGN_EXPERIMENTAL: '1' });
    const got = await verify(image, ['--key', `${key('k1')}.pub`]);
    expect(got.stderr).toBe('');
    expect(got.stdout).toContain('(referrer sha256:');
  });

  it.each([
    ['P-384', 'p384', 'ecdsa-sha384'],
    ['RSA', 'rsa', 'rsa-pkcs1v15-sha256'],
    ['Ed25519', 'ed25519', 'ed25519ph'],
  ])('verifies a %s key imported into cosign, in both layouts', async (_name, keyName, scheme) => {
    const image = await pushImage(OLAREG, `verify/${keyName}`);
    await sign('cosign', keyName, image);
    const legacy = await verify(image, ['--key', `${key(keyName)}.pub`]);
    expect(legacy.stderr).toBe('');
    expect(legacy.stdout).toContain(scheme);
    // cosign >= 2.6 hashes DSSE with the key's own default; the bundle must verify all the same.
    const bundled = await pushImage(OLAREG, `verify/${keyName}-bundle`);
    const signed = await tool('cosign', [
      'sign',
      '--key',
      `${key(keyName)}.key`,
      '--use-signing-config=false',
      '--tlog-upload=false',
      bundled,
    ]);
    expect(signed.code).toBe(0);
    const bundle = await verify(bundled, ['--key', `${key(keyName)}.pub`]);
    expect(bundle.stderr).toBe('');
    expect(bundle.stdout).toContain('sigstore-bundle');
  });

  it('rejects a key file that is not a key, naming the flag', async () => {
    writeFileSync(join(work, 'bad.pub'), 'not a key');
    const got = await verify(`${OLAREG}/verify/v3:v1`, ['--key', join(work, 'bad.pub')]);
    expect(got.code).toBe(2);
    expect(got.stderr).toContain('--key: invalid public key');
  });
});

describe('imprimatur verify-image with the transparency log', () => {
  const REKOR_URL = env.vars['REKOR_URL']!;
  const TRUSTED_ROOT = env.vars['TRUSTED_ROOT']!;
  /** Verifies as a policy without rekor.ignoreTlog does: against the local Rekor's key in the trusted root. */
  const verifyLogged = (image: string, args: readonly string[]) =>
    imprimatur([
      'verify-image',
      image,
      ...args,
      '--trusted-root',
      TRUSTED_ROOT,
      '--insecure-registry',
      image.split('/')[0]!,
    ]);

  it.each([
    ['cosign v2', 'cosign2', ['--rekor-url', REKOR_URL]],
    [
      'cosign v3 legacy',
      'cosign',
      ['--use-signing-config=false', '--new-bundle-format=false', '--rekor-url', REKOR_URL],
    ],
  ])('verifies the Rekor entry that %s attached to a legacy signature', async (_name, cosign, flags) => {
    const image = await pushImage(DISTRIBUTION, 'tlog/legacy');
    const signed = await tool(cosign, ['sign', '--key', `${key('k1')}.key`, ...flags, image]);
    expect(signed.code).toBe(0);
    const got = await verifyLogged(image, ['--key', `${key('k1')}.pub`, '--output', 'json']);
    expect(got.stderr).toBe('');
    expect(JSON.parse(got.stdout)).toMatchObject({
      verified: true,
      matches: [{ format: 'simple-signing', loggedAt: expect.any(String) }],
    });
  });

  it.each([
    ['olareg', () => OLAREG],
    ['distribution', () => DISTRIBUTION],
  ])('verifies a cosign v3 bundle with its Rekor entry on %s', async (_name, host) => {
    const image = await pushImage(host(), 'tlog/bundle');
    const signed = await tool('cosign', [
      'sign',
      '--key',
      `${key('k1')}.key`,
      '--use-signing-config=false',
      '--rekor-url',
      REKOR_URL,
      image,
    ]);
    expect(signed.code).toBe(0);
    const got = await verifyLogged(image, ['--key', `${key('k1')}.pub`]);
    expect(got.stderr).toBe('');
    expect(got.stdout).toContain('sigstore-bundle');
  });

  it('fails a signature that was never logged, saying so', async () => {
    const image = await pushImage(OLAREG, 'tlog/unlogged');
    await sign('cosign', 'k1', image);
    const got = await verifyLogged(image, ['--key', `${key('k1')}.pub`]);
    expect(got.code).toBe(1);
    expect(got.stderr).toMatch(/: invalid signature: .*the signature has no transparency-log entry/);
  });

  it('fails a signature logged in a Rekor that is not trusted', async () => {
    const other = await startOtherRekor(work);
    try {
      const { url } = other;
      const image = await pushImage(OLAREG, 'tlog/untrusted');
      const signed = await tool('cosign2', ['sign', '--key', `${key('k1')}.key`, '--rekor-url', url, image]);
      expect(signed.code).toBe(0);
      const got = await verifyLogged(image, ['--key', `${key('k1')}.pub`]);
      expect(got.code).toBe(1);
      expect(got.stderr).toContain('transparency log: no trusted Rekor key for log');
    } finally {
      await other.stop();
    }
  });

  it('refuses to start without a Rekor key, unless told to ignore the log', async () => {
    const image = await pushImage(OLAREG, 'tlog/no-root');
    const got = await imprimatur(['verify-image', image, '--key', `${key('k1')}.pub`, '--insecure-registry', OLAREG]);
    expect(got.code).toBe(2);
    expect(got.stderr).toContain('no Rekor key is known: give --trusted-root, or --insecure-ignore-tlog');
  });
});

describe('imprimatur verify-image, keyless', () => {
  const REKOR_URL = env.vars['REKOR_URL']!;
  const FULCIO_URL = env.vars['FULCIO_URL']!;
  const TRUSTED_ROOT = env.vars['TRUSTED_ROOT']!;
  const ISSUER = 'https://issuer.example.com';

  /** Signs keyless as alice@example.com: a certificate from the local Fulcio, logged in the local Rekor. */
  async function signKeyless(image: string, bundle: boolean, extra: readonly string[] = []): Promise<void> {
    const token = await fetch(`${FULCIO_URL}/fake/token?iss=${encodeURIComponent(ISSUER)}&email=alice@example.com`);
    expect(token.status).toBe(200);
    const signed = await tool('cosign', [
      'sign',
      '--fulcio-url',
      FULCIO_URL,
      '--rekor-url',
      REKOR_URL,
      '--identity-token',
      (await token.text()).trim(),
      '--use-signing-config=false',
      '--trusted-root',
      TRUSTED_ROOT,
      `--new-bundle-format=${bundle}`,
      ...extra,
      image,
    ]);
    expect(signed.code).toBe(0);
  }

  const verifyKeyless = (image: string, identity: readonly string[]) =>
    imprimatur([
      'verify-image',
      image,
      ...identity,
      '--trusted-root',
      TRUSTED_ROOT,
      '--insecure-registry',
      image.split('/')[0]!,
    ]);

  it.each([
    ['a Sigstore bundle', true, 'sigstore-bundle'],
    ['a legacy .sig', false, 'ecdsa-sha256'],
  ])(
    'verifies %s by its Fulcio certificate, SCT and Rekor entry, and names the identity',
    async (_name, bundle, format) => {
      const image = await pushImage(OLAREG, `keyless/${bundle ? 'bundle' : 'legacy'}`);
      await signKeyless(image, bundle);
      const got = await verifyKeyless(image, [
        '--certificate-identity',
        'alice@example.com',
        '--certificate-oidc-issuer',
        ISSUER,
      ]);
      expect(got.stderr).toBe('');
      expect(got.stdout).toContain(`identity alice@example.com (issuer ${ISSUER}): ${format}`);
      const wildcard = await verifyKeyless(image, [
        '--certificate-identity',
        '*@example.com',
        '--certificate-oidc-issuer-regexp',
        '^https://issuer\\.',
      ]);
      expect(wildcard.code).toBe(0);
    },
  );

  it.each([
    [
      ['--certificate-identity', 'bob@example.com'],
      'subject mismatch: expected bob@example.com, received alice@example.com',
    ],
    [
      ['--certificate-identity', 'alice@example.com', '--certificate-oidc-issuer', 'https://other.example'],
      `issuer mismatch: expected https://other.example, received ${ISSUER}`,
    ],
  ])('fails another identity (%j) with Kyverno’s words', async (identity, words) => {
    const image = await pushImage(DISTRIBUTION, 'keyless/other');
    await signKeyless(image, true);
    const got = await verifyKeyless(image, [...identity, '--output', 'json']);
    expect(got.code).toBe(1);
    const outcome = JSON.parse(got.stdout) as { reason: string; message: string };
    expect(outcome.reason).toBe('IdentityMismatch');
    expect(outcome.message).toContain(`: invalid signature: `);
    expect(outcome.message).toContain(words);
  });

  it.each([
    ['a Sigstore bundle', true],
    ['a legacy .sig', false],
  ])('binds annotations in %s signed keyless', async (_name, bundle) => {
    const image = await pushImage(OLAREG, `keyless/annotated-${bundle ? 'bundle' : 'legacy'}`);
    await signKeyless(image, bundle, ['-a', 'env=staging']);
    const identity = ['--certificate-identity', 'alice@example.com', '--certificate-oidc-issuer', ISSUER];
    expect((await verifyKeyless(image, [...identity, '-a', 'env=staging'])).code).toBe(0);
    const other = await verifyKeyless(image, [...identity, '-a', 'env=prod', '--output', 'json']);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stdout)).toMatchObject({ reason: 'AnnotationMismatch' });
  });

  it('verifies a keyless bundle with the log ignored by the RFC 3161 timestamp of a trusted authority', async () => {
    const TSA_URL = env.vars['TSA_URL'];
    if (!TSA_URL) throw new Error('TSA_URL is not set: hack/cluster-up.sh found port 2112 taken and started no TSA');
    const image = await pushImage(DISTRIBUTION, 'keyless/timestamped');
    const token = await fetch(`${FULCIO_URL}/fake/token?iss=${encodeURIComponent(ISSUER)}&email=alice@example.com`);
    const signed = await tool('cosign', [
      'sign',
      '--fulcio-url',
      FULCIO_URL,
      '--identity-token',
      (await token.text()).trim(),
      '--use-signing-config=false',
      '--tlog-upload=false',
      '--timestamp-server-url',
      TSA_URL,
      '--trusted-root',
      TRUSTED_ROOT,
      image,
    ]);
    expect(signed.code).toBe(0);
    const identity = ['--certificate-identity', 'alice@example.com', '--certificate-oidc-issuer', ISSUER];
    const got = await verifyKeyless(image, [...identity, '--insecure-ignore-tlog']);
    expect(got.stderr).toBe('');
    expect(got.stdout).toContain(`identity alice@example.com (issuer ${ISSUER}): sigstore-bundle`);
    // The log is required unless ignored, and this signature was never logged.
    const logged = await verifyKeyless(image, identity);
    expect(logged.code).toBe(1);
  });

  it('fails a key-signed image: no certificate found on signature', async () => {
    const image = await pushImage(OLAREG, 'keyless/keyed');
    await sign('cosign', 'k1', image);
    // Without the log, only a trusted timestamp authority proves when a certificate signed: with none, the identity is
    // refused before anything is read.
    const root = JSON.parse(readFileSync(TRUSTED_ROOT, 'utf8')) as Record<string, unknown>;
    const noTsa = join(work, 'trusted-root-without-tsa.json');
    writeFileSync(noTsa, JSON.stringify({ ...root, timestampAuthorities: [] }));
    const got = await imprimatur([
      'verify-image',
      image,
      '--certificate-identity',
      'alice@example.com',
      '--insecure-ignore-tlog',
      '--trusted-root',
      noTsa,
      '--insecure-registry',
      OLAREG,
    ]);
    expect(got.code).toBe(2);
    expect(got.stderr).toContain('a signing certificate is checked at the signing time');
    const timestamped = await verifyKeyless(image, [
      '--certificate-identity',
      'alice@example.com',
      '--insecure-ignore-tlog',
    ]);
    expect(timestamped.code).toBe(1);
    expect(timestamped.stderr).toContain('no certificate found on signature');
    const logged = await verifyKeyless(image, ['--certificate-identity', 'alice@example.com']);
    expect(logged.code).toBe(1);
    expect(logged.stderr).toContain('no certificate found on signature');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
