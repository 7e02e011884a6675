// `imprimatur verify-attestation` against attestations the real cosign CLIs (v3 and v2) wrote into the real
// registries and logged in the local Rekor: Sigstore bundles and legacy .att layers, checked with the seed's
// attest-code-review conditions given as a --policy file, as admission checks them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadEnvironment } from './support/environment.js';
import { registryTools } from './support/registry-tools.js';

const env = loadEnvironment();
const OLAREG = env.vars['REGISTRY']!;
const DISTRIBUTION = env.vars['REGISTRY_NOREFERRERS']!;
const REKOR_URL = env.vars['REKOR_URL']!;
const TRUSTED_ROOT = env.vars['TRUSTED_ROOT']!;
const TESTDATA = join(import.meta.dirname, 'testdata');
const PREDICATES = join(TESTDATA, 'predicates');
const CODE_REVIEW = 'https://example.com/CodeReview/v1';
let work: string;
const { tool, imprimatur, pushRandomImage } = registryTools(env, () => work);

/** The seed policy's attestation entry (predicateType and conditions), as a --policy file takes it. */
let seedPolicy: string;
/** The same conditions alone, as JSON: the list Kyverno has under attestations[].conditions. */
let seedConditions: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imprimatur-verify-attestation-'));
  for (const name of ['k1', 'k2']) {
    expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, name)])).code).toBe(0);
  }
  const seed = parse(readFileSync(join(TESTDATA, 'attest-code-review.yaml'), 'utf8')) as {
    spec: { rules: { verifyImages: { attestations: { predicateType: string; conditions: unknown[] }[] }[] }[] };
  };
  const entry = seed.spec.rules[0]!.verifyImages[0]!.attestations[0]!;
  expect(entry.predicateType).toBe(CODE_REVIEW);
  seedPolicy = join(work, 'attest-code-review.yaml');
  writeFileSync(seedPolicy, stringify(entry));
  seedConditions = join(work, 'attest-code-review.json');
  writeFileSync(seedConditions, JSON.stringify(entry.conditions));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const key = (name: string) => join(work, `${name}.pub`);

/** cosign attest, logged in the local Rekor; v3 writes a bundle unless `bundle` is false. */
async function attest(
  cosign: 'cosign' | 'cosign2',
  signer: string,
  image: string,
  type: string,
  predicate: string,
  bundle = true,
): Promise<void> {
  const flags =
    cosign === 'cosign2'
      ? ['--rekor-url', REKOR_URL]
      : ['--use-signing-config=false', '--rekor-url', REKOR_URL, `--new-bundle-format=${bundle}`];
  const attested = await tool(cosign, [
    'attest',
    ...['--key', join(work, `${signer}.key`), ...flags],
    ...['--type', type, '--predicate', join(PREDICATES, predicate), image],
  ]);
  expect(attested.stderr).not.toContain('Error');
  expect(attested.code).toBe(0);
}

/** Verifies as admission does with the operator's --trusted-root: against the local Rekor's key. */
function verify(image: string, args: readonly string[]) {
  return imprimatur([
    'verify-attestation',
    image,
    ...args,
    '--trusted-root',
    TRUSTED_ROOT,
    '--insecure-registry',
    image.split('/')[0]!,
  ]);
}

const byTag = (image: string) => image.replace(/@sha256:.*/, ':v1');

describe('imprimatur verify-attestation', () => {
  it.each([
    ['olareg, a cosign v3 bundle', () => OLAREG, 'cosign', true, 'sigstore-bundle statement (referrer sha256:'],
    ['distribution, a cosign v3 bundle', () => DISTRIBUTION, 'cosign', true, 'sigstore-bundle statement (referrer'],
    ['distribution, a cosign v3 legacy .att', () => DISTRIBUTION, 'cosign', false, 'dsse-envelope statement (sha256-'],
    ['olareg, a cosign v2 legacy .att', () => OLAREG, 'cosign2', false, 'dsse-envelope statement (sha256-'],
  ] as const)(
    'passes a matching code review with the seed’s conditions (%s)',
    async (_name, host, cosign, bundle, statement) => {
      const image = await pushRandomImage(host(), `verify-attestation/reviewed-${cosign}-${bundle}`);
      await attest(cosign, 'k1', image, CODE_REVIEW, 'code-review.json', bundle);
      const got = await verify(byTag(image), ['--key', key('k1'), '--type', CODE_REVIEW, '--policy', seedPolicy]);
      expect(got.stderr).toBe('');
      expect(got.code).toBe(0);
      expect(got.stdout).toMatch(new RegExp(`^pass {2}${escape(statement)}.* by key ${escape(key('k1'))}\n`));
      expect(got.stdout).toContain(
        `verified ${image}: 1 statement of predicate type "${CODE_REVIEW}", it passed the conditions of ` +
          `${JSON.stringify(seedPolicy)}\n`,
      );
    },
  );

  it('fails a review of another branch, naming the condition that failed, in text and JSON', async () => {
    const image = await pushRandomImage(OLAREG, 'verify-attestation/unreviewed');
    await attest('cosign', 'k1', image, CODE_REVIEW, 'code-review-unreviewed-branch.json');
    const detail =
      `predicate "${CODE_REVIEW}": conditions[0].all[1]: "{{ repo.branch }}" Equals "main" is false: ` +
      'the key resolved to "feature/unreviewed"';
    const got = await verify(image, ['--key', key('k1'), '--type', CODE_REVIEW, '--policy', seedPolicy]);
    expect(got.code).toBe(1);
    expect(got.stdout).toMatch(/^fail {2}sigstore-bundle statement \(referrer sha256:[0-9a-f]{64}\) by key /);
    expect(got.stdout).toContain(`: ConditionFailed: ${detail}\n`);
    expect(got.stderr).toBe(`image verification failed for ${image}: attestation checks failed: ${detail}\n`);
    const json = await verify(image, [
      ...['--key', key('k1'), '--type', CODE_REVIEW, '--policy', seedConditions, '--output', 'json'],
    ]);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toMatchObject({
      verified: false,
      image,
      predicateType: CODE_REVIEW,
      policy: seedConditions,
      statements: [{ pass: false, format: 'sigstore-bundle', reason: 'ConditionFailed', detail }],
      reason: 'ConditionFailed',
      message: `image verification failed for ${image}: attestation checks failed: ${detail}`,
    });
  });

  it('prints every statement’s outcome: one review passes, another fails, and so does the image', async () => {
    const image = await pushRandomImage(DISTRIBUTION, 'verify-attestation/two-reviews');
    await attest('cosign', 'k1', image, CODE_REVIEW, 'code-review.json', true);
    await attest('cosign2', 'k1', image, CODE_REVIEW, 'code-review-self-reviewed.json');
    const got = await verify(image, ['--key', key('k1'), '--type', CODE_REVIEW, '--policy', seedPolicy]);
    expect(got.code).toBe(1);
    const lines = got.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines).toContainEqual(expect.stringMatching(/^pass {2}sigstore-bundle statement /));
    expect(lines).toContainEqual(
      expect.stringMatching(/^fail {2}dsse-envelope statement .*: ConditionFailed: .*conditions\[0\]\.all\[2\]: /),
    );
    expect(lines[2]).toBe(
      `${image}: 2 statements of predicate type "${CODE_REVIEW}" verified, 1 failed the conditions of ` +
        `${JSON.stringify(seedPolicy)}`,
    );
    expect(got.stderr).toContain('attestation checks failed: ');
  });

  it('fails a review attested with another key with AttestationInvalidSignature', async () => {
    const image = await pushRandomImage(DISTRIBUTION, 'verify-attestation/other-key');
    await attest('cosign', 'k2', image, CODE_REVIEW, 'code-review.json', false);
    const got = await verify(image, ['--key', key('k1'), '--type', CODE_REVIEW, '--policy', seedPolicy]);
    expect(got.code).toBe(1);
    expect(got.stdout).toBe('');
    expect(got.stderr).toMatch(new RegExp(`^image verification failed for ${escape(image)}: invalid attestation`));
    const json = await verify(image, ['--key', key('k1'), '--type', CODE_REVIEW, '--output', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: false, reason: 'AttestationInvalidSignature' });
    expect((await verify(image, ['--key', key('k2'), '--type', CODE_REVIEW, '--policy', seedPolicy])).code).toBe(0);
  });

  it('finds a cosign v3 SLSA v1 bundle with --type slsaprovenance1, and not with another type', async () => {
    const image = await pushRandomImage(OLAREG, 'verify-attestation/slsa');
    await attest('cosign', 'k1', image, 'slsaprovenance1', 'slsaprovenance1.json', true);
    const builder = join(work, 'builder.yaml');
    writeFileSync(
      builder,
      stringify([
        { all: [{ key: '{{ runDetails.builder.id }}', operator: 'Equals', value: 'https://github.com/example/*' }] },
      ]),
    );
    const got = await verify(image, ['--key', key('k1'), '--type', 'slsaprovenance1', '--policy', builder]);
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^pass {2}sigstore-bundle statement \(referrer sha256:[0-9a-f]{64}\) by key /);
    expect(got.stdout).toContain(`verified ${image}: 1 statement of predicate type "https://slsa.dev/provenance/v1"`);
    const other = await verify(image, ['--key', key('k1'), '--type', 'slsaprovenance02']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(
      ': attestation not found: --type: no attestation of predicate type "https://slsa.dev/provenance/v0.2" in ',
    );
  });

  it('says attestation not found for an image that has none of the type', async () => {
    const image = await pushRandomImage(OLAREG, 'verify-attestation/none');
    const got = await verify(image, ['--key', key('k1'), '--type', 'vuln']);
    expect(got.code).toBe(1);
    expect(got.stderr).toBe(
      `image verification failed for ${image}: attestation not found: --type: no attestation of predicate type ` +
        `"https://cosign.sigstore.dev/attestation/vuln/v1" in ${OLAREG}/verify-attestation/none (none were found)\n`,
    );
  });

  it('refuses a --type cosign does not know, naming the flag', async () => {
    const got = await verify(`${OLAREG}/verify-attestation/none:v1`, ['--key', key('k1'), '--type', 'provenance']);
    expect(got.code).toBe(2);
    expect(got.stderr).toContain('imprimatur verify-attestation: --type: invalid predicate type "provenance"');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
