// Captures what the real cosign CLIs write into a registry, as fixtures for pkg/cosign's unit tests
// (pkg/cosign/testdata/captured/). Run it against a cluster of hack/cluster-up.sh:
//
//   hack/cluster-up.sh && . .local/env && .tools/bin/node hack/capture-cosign-fixtures.mjs
//
// Each scenario pushes an image to the registry without the referrers API (so referrers live under the
// sha256-<hex> tag, and a fixture is a set of tags and blobs), signs it as the scenario says, and writes every tag of
// its repository, every manifest those tags name and every blob they reference, byte for byte. The keys, the local
// Rekor's and Fulcio's trusted_root.json and the scenarios' commands go with them. Test infrastructure only.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PREDICATES = join(ROOT, 'test', 'e2e', 'testdata', 'predicates');
const BIN = join(ROOT, '.tools', 'bin');
const OUT = join(ROOT, 'pkg', 'cosign', 'testdata', 'captured');
const { REGISTRY_NOREFERRERS: REGISTRY, REKOR_URL, FULCIO_URL, TRUSTED_ROOT } = process.env;
if (!REGISTRY || !REKOR_URL || !FULCIO_URL || !TRUSTED_ROOT) {
  process.stderr.write('capture-cosign-fixtures: source the env of hack/cluster-up.sh first\n');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'capture-'));
const env = { ...process.env, COSIGN_PASSWORD: 'capture', COSIGN_YES: 'true' };
const run = (tool, args) =>
  execFileSync(join(BIN, tool), args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const runBytes = (tool, args) => execFileSync(join(BIN, tool), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });

function pushImage(repository) {
  writeFileSync(join(work, 'blob'), randomBytes(512));
  execFileSync('tar', ['-C', work, '-cf', join(work, 'layer.tar'), 'blob']);
  return run('crane', [
    'append',
    '--oci-empty-base',
    '-f',
    join(work, 'layer.tar'),
    '-t',
    `${REGISTRY}/${repository}:v1`,
  ]).trim();
}

/** Every tag of the repository, the manifests they name (and an index's children), and the blobs all reference. */
function captureRepository(repository) {
  const repo = `${REGISTRY}/${repository}`;
  const manifests = {};
  const blobs = {};
  const tags = {};
  const visit = (reference) => {
    const raw = runBytes('crane', ['manifest', `${repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`]);
    const digest = run('crane', ['digest', `${repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`]).trim();
    if (manifests[digest]) return digest;
    const manifest = JSON.parse(raw.toString('utf8'));
    manifests[digest] = { mediaType: manifest.mediaType, body: raw.toString('base64') };
    for (const child of manifest.manifests ?? []) visit(child.digest);
    for (const d of [manifest.config, ...(manifest.layers ?? [])].filter(Boolean)) {
      blobs[d.digest] ??= runBytes('crane', ['blob', `${repo}@${d.digest}`]).toString('base64');
    }
    return digest;
  };
  for (const tag of run('crane', ['ls', repo]).split('\n').filter(Boolean)) tags[tag] = visit(tag);
  return { repository, tags, manifests, blobs };
}

function fulcioToken(email) {
  return execFileSync('curl', ['-fsS', `${FULCIO_URL}/fake/token?iss=https://issuer.example.com&email=${email}`], {
    encoding: 'utf8',
  }).trim();
}

const key = (name) => join(work, name);
for (const name of ['k1', 'k2']) run('cosign', ['generate-key-pair', '--output-key-prefix', key(name)]);

const legacyV3 = ['--use-signing-config=false', '--new-bundle-format=false'];
/** Signs keyless as alice@example.com, with a certificate from the local Fulcio, logged in the local Rekor. */
const signKeyless = (image, format) =>
  run('cosign', [
    'sign',
    ...['--fulcio-url', FULCIO_URL, '--rekor-url', REKOR_URL, '--trusted-root', TRUSTED_ROOT],
    ...['--identity-token', fulcioToken('alice@example.com'), ...format, image],
  ]);
const scenarios = [
  {
    name: 'v2-legacy-rekor',
    about: 'cosign v2.6.5 sign --key k1 --rekor-url: a legacy .sig layer with a dev.sigstore.cosign/bundle annotation',
    sign: (image) => run('cosign2', ['sign', '--key', `${key('k1')}.key`, '--rekor-url', REKOR_URL, image]),
  },
  {
    name: 'v3-bundle-rekor',
    about:
      'cosign v3.1.3 sign --key k1 --rekor-url (default format): a Sigstore bundle with a Rekor v1 entry, as a referrer',
    sign: (image) =>
      run('cosign', [
        'sign',
        '--key',
        `${key('k1')}.key`,
        '--use-signing-config=false',
        '--rekor-url',
        REKOR_URL,
        image,
      ]),
  },
  {
    name: 'v3-legacy-annotated',
    about: 'cosign v3.1.3 sign --key k1 -a team=payments --new-bundle-format=false --rekor-url',
    sign: (image) =>
      run('cosign', [
        'sign',
        '--key',
        `${key('k1')}.key`,
        ...legacyV3,
        '--rekor-url',
        REKOR_URL,
        '-a',
        'team=payments',
        image,
      ]),
  },
  {
    name: 'v3-legacy-copied',
    about:
      'a .sig that cosign v3.1.3 made for another image of the repository, copied (crane copy) onto this image’s tag',
    sign: (image, repository) => {
      const other = pushImage(`${repository}-source`);
      run('cosign', ['sign', '--key', `${key('k1')}.key`, ...legacyV3, '--rekor-url', REKOR_URL, other]);
      const tagOf = (ref) => `${ref.split('@')[1].replace(':', '-')}.sig`;
      run('crane', [
        'copy',
        `${REGISTRY}/${repository}-source:${tagOf(other)}`,
        `${REGISTRY}/${repository}:${tagOf(image)}`,
      ]);
    },
  },
  {
    name: 'v3-keyless-legacy',
    about: 'cosign v3.1.3 sign keyless as alice@example.com (local Fulcio, SCT, Rekor), --new-bundle-format=false',
    sign: (image) => signKeyless(image, legacyV3),
  },
  {
    name: 'v3-keyless-bundle',
    about: 'cosign v3.1.3 sign keyless as alice@example.com (local Fulcio, SCT, Rekor), default bundle format',
    sign: (image) => signKeyless(image, ['--use-signing-config=false']),
  },
  {
    name: 'v2-attest-legacy',
    about:
      'cosign v2.6.5 attest --key k1 --type https://example.com/CodeReview/v1 --rekor-url: a legacy .att DSSE layer ' +
      'logged as a dsse entry, with a dev.sigstore.cosign/bundle annotation',
    sign: (image) =>
      run('cosign2', [
        'attest',
        ...['--key', `${key('k1')}.key`, '--rekor-url', REKOR_URL],
        ...['--type', 'https://example.com/CodeReview/v1', '--predicate', join(PREDICATES, 'code-review.json'), image],
      ]),
  },
  {
    name: 'v3-attest-bundle',
    about:
      'cosign v3.1.3 attest --key k1 --type slsaprovenance1 and --type vuln --rekor-url (default format): two ' +
      'Sigstore bundles with DSSE statements, as referrers',
    sign: (image) => {
      for (const [type, file] of [
        ['slsaprovenance1', 'slsaprovenance1.json'],
        ['vuln', 'vuln.json'],
      ]) {
        run('cosign', [
          'attest',
          ...['--key', `${key('k1')}.key`, '--use-signing-config=false', '--rekor-url', REKOR_URL],
          ...['--type', type, '--predicate', join(PREDICATES, file), image],
        ]);
      }
    },
  },
  {
    name: 'v3-attest-legacy',
    about:
      'cosign v3.1.3 attest --key k1 --new-bundle-format=false: --type spdxjson, cyclonedx and custom (a text file), ' +
      'three layers of the legacy .att manifest, logged',
    sign: (image) => {
      for (const [type, file] of [
        ['spdxjson', 'spdx.json'],
        ['cyclonedx', 'cyclonedx.json'],
        ['custom', 'custom.txt'],
      ]) {
        run('cosign', [
          'attest',
          ...['--key', `${key('k1')}.key`, ...legacyV3, '--rekor-url', REKOR_URL],
          ...['--type', type, '--predicate', join(PREDICATES, file), image],
        ]);
      }
    },
  },
  {
    name: 'v3-attest-copied',
    about:
      'an .att that cosign v3.1.3 attest --key k1 --new-bundle-format=false made for another image of the repository, ' +
      'copied (crane copy) onto this image’s tag',
    sign: (image, repository) => {
      const other = pushImage(`${repository}-source`);
      run('cosign', [
        'attest',
        ...['--key', `${key('k1')}.key`, ...legacyV3, '--rekor-url', REKOR_URL],
        ...['--type', 'https://example.com/CodeReview/v1', '--predicate', join(PREDICATES, 'code-review.json'), other],
      ]);
      const tagOf = (ref) => `${ref.split('@')[1].replace(':', '-')}.att`;
      run('crane', [
        'copy',
        `${REGISTRY}/${repository}-source:${tagOf(other)}`,
        `${REGISTRY}/${repository}:${tagOf(image)}`,
      ]);
    },
  },
  {
    name: 'v3-attest-keyless',
    about:
      'cosign v3.1.3 attest keyless as alice@example.com (local Fulcio, SCT, Rekor) --type slsaprovenance02, once in ' +
      'the bundle format and once as a legacy .att layer',
    sign: (image) => {
      for (const format of [['--use-signing-config=false'], legacyV3]) {
        run('cosign', [
          'attest',
          ...['--fulcio-url', FULCIO_URL, '--rekor-url', REKOR_URL, '--trusted-root', TRUSTED_ROOT],
          ...['--identity-token', fulcioToken('alice@example.com'), ...format],
          ...['--type', 'slsaprovenance02', '--predicate', join(PREDICATES, 'slsaprovenance02.json'), image],
        ]);
      }
    },
  },
  { name: 'unsigned', about: 'an image nobody signed', sign: () => undefined },
];

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const suffix = randomBytes(3).toString('hex');
for (const scenario of scenarios) {
  const repository = `capture/${scenario.name}-${suffix}`;
  const image = pushImage(repository);
  scenario.sign(image, repository);
  const fixture = { about: scenario.about, digest: image.split('@')[1], ...captureRepository(repository) };
  writeFileSync(join(OUT, `${scenario.name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
  process.stderr.write(`captured ${scenario.name}\n`);
}
copyFileSync(`${key('k1')}.pub`, join(OUT, 'k1.pub'));
copyFileSync(`${key('k2')}.pub`, join(OUT, 'k2.pub'));
copyFileSync(TRUSTED_ROOT, join(OUT, 'trusted_root.json'));
rmSync(work, { recursive: true, force: true });
