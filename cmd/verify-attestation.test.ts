// `imprimatur verify-attestation` at its edges: the flags and the --policy file (usage errors, exit 2, naming the
// flag and the file), the --type shorthands against what the real cosign CLIs attested (pkg/cosign's captured
// fixtures, served to the real registry client on loopback), and the text and JSON it prints.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatementOutcome } from '../pkg/cosign/index.js';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- pkg/cosign's fixtures of real cosign output, and their server
import {
  CAPTURED,
  readCaptured,
  serveCaptured,
  type CapturedRegistry,
} from '../pkg/cosign/testdata/captured-registry.js';
import {
  formatJson,
  formatText,
  parsePolicy,
  runVerifyAttestation,
  VERIFY_ATTESTATION_USAGE,
  type AttestationReport,
  type FormatOptions,
} from './verify-attestation.js';

/** No docker config: a folder that does not exist. */
const ENV = { DOCKER_CONFIG: join(tmpdir(), 'imprimatur-no-such-docker-config') };
const K1 = join(CAPTURED, 'k1.pub');
const K2 = join(CAPTURED, 'k2.pub');
const TRUSTED_ROOT = join(CAPTURED, 'trusted_root.json');
const CODE_REVIEW = 'https://example.com/CodeReview/v1';

const SCENARIOS = ['v2-attest-legacy', 'v3-attest-bundle', 'v3-attest-legacy', 'v3-attest-keyless', 'unsigned'];
const captured = Object.fromEntries(SCENARIOS.map((s) => [s, readCaptured(s)]));

/** The seed's attest-code-review conditions, as Kyverno writes them under attestations[].conditions. */
const SEED_CONDITIONS = `- all:
  - key: "{{ repo.uri }}"
    operator: Equals
    value: "https://github.com/example/my-project"
  - key: "{{ repo.branch }}"
    operator: Equals
    value: "main"
  - key: "{{ reviewers }}"
    operator: In
    value: ["ana@example.com", "bob@example.com"]
`;

let registry: CapturedRegistry;
let work: string;

beforeAll(async () => {
  registry = await serveCaptured(Object.values(captured));
  work = mkdtempSync(join(tmpdir(), 'verify-attestation-'));
});

afterAll(async () => {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
});

/** The command's exit code and what it wrote. */
async function run(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runVerifyAttestation(args, ENV, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { code, stdout, stderr };
}

/** A captured image by tag, and the flags that read the captured registry with its Rekor trusted. */
function image(scenario: string): string {
  return `${registry.host}/${captured[scenario]!.repository}:v1`;
}
function pinned(scenario: string): string {
  return `${registry.host}/${captured[scenario]!.repository}@${captured[scenario]!.digest}`;
}
const local = () => ['--insecure-registry', registry.host, '--trusted-root', TRUSTED_ROOT];

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function file(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

describe('imprimatur verify-attestation, its flags', () => {
  it('prints its usage with --help', async () => {
    const got = await run('--help');
    expect(got).toEqual({ code: 0, stdout: VERIFY_ATTESTATION_USAGE, stderr: '' });
  });

  it.each([
    [[], 'expected exactly one IMAGE'],
    [['a', 'b', '--key', K1], 'expected exactly one IMAGE'],
    [['img', '--key', K1, '--bogus'], "Unknown option '--bogus'"],
    [['img', '--key', K1, '--output', 'yaml'], '--output: invalid value "yaml": expected text or json'],
    [['img', '--key', K1, '--type', 'provenance'], '--type: invalid predicate type "provenance": expected '],
    [['img', '--key', K1, '--type', 'example.com/CodeReview/v1'], '--type: invalid predicate type'],
    [['img'], '--key: at least one public key file is required (or --certificate-identity for keyless)'],
    [['img', '--key', K1, '--certificate-identity', 'a@b'], '--key and --certificate-identity* flags do not go'],
    [['img', '--certificate-oidc-issuer', 'https://x'], '--certificate-identity or --certificate-identity-regexp'],
    [['img', '--key', join(CAPTURED, 'nope.pub')], `--key: cannot read ${join(CAPTURED, 'nope.pub')}: ENOENT`],
    [['img', '--key', K1, '--count', '0', '--insecure-ignore-tlog'], '--count: invalid value "0"'],
    [['img', '--key', K1, '-a', 'novalue', '--insecure-ignore-tlog'], '--annotations: invalid value "novalue"'],
    [['img', '--key', K1, '--timeout', 'soon', '--insecure-ignore-tlog'], '--timeout: invalid value "soon"'],
    [['img', '--key', K1, '--trusted-root', join(CAPTURED, 'nope.json')], '--trusted-root: cannot read'],
    [['img', '--key', K1, '--repository', 'no spaces/allowed', '--insecure-ignore-tlog'], '--repository: '],
    [
      ['img', '--key', K1],
      'signatures are checked against the Rekor transparency log, and no Rekor key is known: give --trusted-root',
    ],
    [['img', '--key', K1, '--insecure-ignore-tlog', '--policy', join(CAPTURED, 'nope.yaml')], '--policy: cannot read'],
  ])('refuses %j with exit code 2, naming the flag', async (args, message) => {
    const got = await run(...args);
    expect(got.code).toBe(2);
    expect(got.stdout).toBe('');
    expect(got.stderr).toContain(`imprimatur verify-attestation: ${message}`);
  });

  it('refuses a --policy whose conditions do not compile before it reads any registry', async () => {
    const policy = file('bad-operator.yaml', '- all:\n  - key: "{{ a }}"\n    operator: Sortof\n    value: 1\n');
    const got = await run('127.0.0.1:1/none:v1', '--key', K1, '--insecure-ignore-tlog', '--policy', policy);
    expect(got.code).toBe(2);
    expect(got.stderr).toMatch(
      new RegExp(`^imprimatur verify-attestation: --policy ${policy}: conditions\\[0\\]\\.all\\[0\\]\\.operator: `),
    );
  });
});

describe('imprimatur verify-attestation, --type', () => {
  it.each([
    ['slsaprovenance1', 'v3-attest-bundle', 'sigstore-bundle'],
    ['https://slsa.dev/provenance/v1', 'v3-attest-bundle', 'sigstore-bundle'],
    ['vuln', 'v3-attest-bundle', 'sigstore-bundle'],
    ['spdxjson', 'v3-attest-legacy', 'dsse-envelope'],
    ['cyclonedx', 'v3-attest-legacy', 'dsse-envelope'],
    ['custom', 'v3-attest-legacy', 'dsse-envelope'],
    [CODE_REVIEW, 'v2-attest-legacy', 'dsse-envelope'],
  ])('finds what cosign attest --type %s wrote (%s)', async (type, scenario, format) => {
    const got = await run(image(scenario), '--key', K1, '--type', type, ...local());
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^pass  ${format} statement \\(.+\\) by key ${K1}\n`));
    expect(got.stdout).toContain(`verified ${pinned(scenario)}: 1 statement of predicate type "`);
  });

  it('looks for cosign’s default, custom, without --type: attestation not found', async () => {
    const got = await run(image('v2-attest-legacy'), '--key', K1, ...local());
    expect(got.code).toBe(1);
    expect(got.stdout).toBe('');
    expect(got.stderr).toBe(
      `image verification failed for ${pinned('v2-attest-legacy')}: attestation not found: --type: no attestation ` +
        `of predicate type "https://cosign.sigstore.dev/attestation/v1" in ${registry.host}/` +
        `${captured['v2-attest-legacy']!.repository} (none were found)\n`,
    );
  });

  it('names every statement that verified keyless, by the identity asked for', async () => {
    const got = await run(
      image('v3-attest-keyless'),
      ...['--certificate-identity', 'alice@example.com', '--certificate-oidc-issuer-regexp', '^https://issuer\\.'],
      ...['--type', 'slsaprovenance02', ...local()],
    );
    expect(got.stderr).toBe('');
    const lines = got.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(0, 2)) {
      expect(line).toMatch(/^pass {2}(dsse-envelope|sigstore-bundle) statement \(.+\) by identity alice@example\.com/);
      expect(line).toContain('(issuer /^https://issuer\\./)');
    }
    expect(lines[2]).toBe(
      `verified ${pinned('v3-attest-keyless')}: 2 statements of predicate type "https://slsa.dev/provenance/v0.2" ` +
        '(no --policy: no conditions checked)',
    );
  });
});

describe('imprimatur verify-attestation, verification failures', () => {
  it('fails a statement signed with another key with AttestationInvalidSignature, in JSON too', async () => {
    const args = [image('v2-attest-legacy'), '--key', K2, '--type', CODE_REVIEW, ...local()];
    const text = await run(...args);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/: invalid attestation signature: no signature verifies with .*k2\.pub/);
    const json = await run(...args, '--output', 'json');
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toMatchObject({
      verified: false,
      image: pinned('v2-attest-legacy'),
      digest: captured['v2-attest-legacy']!.digest,
      predicateType: CODE_REVIEW,
      statements: [],
      reason: 'AttestationInvalidSignature',
      message: expect.stringMatching(/^image verification failed for .*: invalid attestation signature: /),
    });
  });

  it('looks for the attestations in --repository', async () => {
    const elsewhere = `${registry.host}/${captured['unsigned']!.repository}`;
    const got = await run(
      image('v2-attest-legacy'),
      '--key',
      K1,
      '--type',
      CODE_REVIEW,
      '--repository',
      elsewhere,
      ...local(),
    );
    expect(got.code).toBe(1);
    expect(got.stderr).toContain(
      `attestation not found: --type: no attestation of predicate type "${CODE_REVIEW}" in ${elsewhere}`,
    );
  });

  it('requires the subject annotations of -a', async () => {
    const got = await run(image('v2-attest-legacy'), '--key', K1, '--type', CODE_REVIEW, '-a', 'team=a', ...local());
    expect(got.code).toBe(1);
    expect(got.stderr).toContain('"team" is none');
  });

  it('reports a registry that cannot be reached as a registry error, with what the network said', async () => {
    const host = `127.0.0.1:${await closedPort()}`;
    const got = await run(`${host}/app:v1`, '--key', K1, '--insecure-ignore-tlog', '--insecure-registry', host);
    expect(got.code).toBe(1);
    expect(got.stdout).toBe('');
    expect(got.stderr).toMatch(new RegExp(`^image verification failed for ${host}/app:v1: registry error: `));
    expect(got.stderr).toMatch(/\n {2}registry detail: .*ECONNREFUSED/);
  });
});

describe('imprimatur verify-attestation --policy', () => {
  it('passes a code review whose predicate satisfies the seed’s conditions', async () => {
    const policy = file('seed.yaml', SEED_CONDITIONS);
    const got = await run(
      image('v2-attest-legacy'),
      '--key',
      K1,
      '--type',
      CODE_REVIEW,
      '--policy',
      policy,
      ...local(),
    );
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    expect(got.stdout).toBe(
      `pass  dsse-envelope statement (${captured['v2-attest-legacy']!.digest.replace(':', '-')}.att layer 0) by key ${K1}\n` +
        `verified ${pinned('v2-attest-legacy')}: 1 statement of predicate type "${CODE_REVIEW}", it passed the ` +
        `conditions of ${JSON.stringify(policy)}\n`,
    );
  });

  it('fails one that does not, naming the condition, with admission’s message on stderr', async () => {
    const policy = file('release.yaml', SEED_CONDITIONS.replace('value: "main"', 'value: "release"'));
    const got = await run(
      image('v2-attest-legacy'),
      '--key',
      K1,
      '--type',
      CODE_REVIEW,
      '--policy',
      policy,
      ...local(),
    );
    expect(got.code).toBe(1);
    const detail =
      `predicate "${CODE_REVIEW}": conditions[0].all[1]: "{{ repo.branch }}" Equals "release" is false: ` +
      'the key resolved to "main"';
    expect(got.stdout).toContain(`fail  dsse-envelope statement (`);
    expect(got.stdout).toContain(`by key ${K1}: ConditionFailed: ${detail}\n`);
    expect(got.stdout).toContain(
      `${pinned('v2-attest-legacy')}: 1 statement of predicate type "${CODE_REVIEW}" verified, 1 failed the ` +
        `conditions of ${JSON.stringify(policy)}\n`,
    );
    expect(got.stderr).toBe(
      `image verification failed for ${pinned('v2-attest-legacy')}: attestation checks failed: ${detail}\n`,
    );
    const json = await run(
      image('v2-attest-legacy'),
      '--key',
      K1,
      '--type',
      CODE_REVIEW,
      '--policy',
      policy,
      '--output',
      'json',
      ...local(),
    );
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      verified: false,
      policy,
      statements: [{ pass: false, format: 'dsse-envelope', attestor: `key ${K1}`, reason: 'ConditionFailed', detail }],
      reason: 'ConditionFailed',
      detail,
    });
  });

  it('reads a JSON policy, and an attestations[] entry as Kyverno writes it', async () => {
    const json = file(
      'seed.json',
      JSON.stringify([{ all: [{ key: '{{ repo.branch }}', operator: 'Equals', value: 'main' }] }]),
    );
    const entry = file(
      'entry.yaml',
      `predicateType: ${CODE_REVIEW}\nconditions:\n${SEED_CONDITIONS.replace(/^/gm, '  ')}`,
    );
    for (const policy of [json, entry]) {
      const got = await run(
        image('v2-attest-legacy'),
        '--key',
        K1,
        '--type',
        CODE_REVIEW,
        '--policy',
        policy,
        ...local(),
      );
      expect(got.stderr).toBe('');
      expect(got.code).toBe(0);
    }
  });

  it('prints the predicate the conditions saw with --print-predicate, and leaves it out of JSON without', async () => {
    const args = [image('v2-attest-legacy'), '--key', K1, '--type', CODE_REVIEW, ...local()];
    const text = await run(...args, '--print-predicate');
    expect(text.stdout).toContain('\n      {\n        "author": "alice@example.com",\n');
    const bare = JSON.parse((await run(...args, '--output', 'json')).stdout) as { statements: object[] };
    expect(bare.statements[0]).not.toHaveProperty('predicate');
    const full = JSON.parse((await run(...args, '--output', 'json', '--print-predicate')).stdout) as {
      statements: { predicate: unknown }[];
    };
    expect(full.statements[0]!.predicate).toMatchObject({ repo: { branch: 'main' }, reviewers: ['bob@example.com'] });
  });
});

describe('parsePolicy', () => {
  it('compiles a list of {any, all} blocks, and an object whose conditions holds one, under "conditions"', () => {
    for (const text of [SEED_CONDITIONS, `conditions:\n${SEED_CONDITIONS.replace(/^/gm, '  ')}`]) {
      const compiled = parsePolicy(text, 'p.yaml');
      expect(compiled.ok && compiled.value.field).toBe('conditions');
      expect(compiled.ok && compiled.value.blocks.map((b) => b.field)).toEqual(['conditions[0]']);
    }
  });

  it('takes an empty list: every verified statement passes', () => {
    expect(parsePolicy('[]', 'p.json')).toMatchObject({ ok: true, value: { blocks: [] } });
  });

  it.each([
    ['', '--policy p.yaml: the file is empty: expected a list of {any, all} blocks'],
    ['# nothing\n', '--policy p.yaml: the file is empty: '],
    ['just text', '--policy p.yaml: not a policy: expected a list of {any, all} blocks'],
    ['all:\n  - key: a\n    operator: Equals\n    value: a\n', 'a single block is a list of one (- all: …)'],
    ['conditions: {all: []}', '--policy p.yaml: conditions: must be a list of {any, all} blocks'],
    ['a: b: c', '--policy p.yaml: Nested mappings are not allowed in compact mappings at line 1, column 4'],
    ['- all: []\n---\n- all: []\n', '--policy p.yaml: Source contains multiple documents'],
    ['- all:\n  - key: a\n    key: b\n', '--policy p.yaml: Map keys must be unique at line 3, column 5'],
    [
      '- all:\n  - key: a\n    operator: Equals\n    value: .inf\n',
      'p.yaml: conditions[0].all[0].value: not a JSON value',
    ],
    [
      '- all:\n  - key: a\n    operator: In\n    value: [!!binary aGk=]\n',
      ': conditions[0].all[0].value[0]: not a JSON',
    ],
    ['&a [ *a ]', '--policy p.yaml: conditions[0]: a YAML alias inside itself'],
    ['- &a {all: [*a]}', '--policy p.yaml: conditions[0].all[0]: a YAML alias inside itself'],
    [`${'['.repeat(150)}${']'.repeat(150)}`, 'nested deeper than 100 levels'],
    ['- every: []\n', '--policy p.yaml: conditions[0].every: unknown field; conditions are grouped under any and all'],
  ])('refuses %j, naming the file', (text, message) => {
    const parsed = parsePolicy(text, 'p.yaml');
    expect(!parsed.ok && parsed.error).toContain(message);
  });

  it('lists every problem, one a line', () => {
    const parsed = parsePolicy('- all:\n  - operator: Nope\n- any: 3\n', 'p.yaml');
    expect(!parsed.ok && parsed.error).toMatch(/^--policy p\.yaml: \d+ problems:\n {2}conditions\[0\]\.all\[0\]/);
    expect(!parsed.ok && parsed.error).toContain('\n  conditions[1].any: must be a list of conditions');
  });
});

describe('formatText and formatJson', () => {
  const statement = (over: Partial<StatementOutcome> = {}): StatementOutcome => ({
    source: 'referrer sha256:aa',
    format: 'sigstore-bundle',
    attestor: 'k1.pub',
    predicate: { ok: true },
    ...over,
  });
  const failed = statement({
    source: 'sha256-bb.att layer 1',
    format: 'dsse-envelope',
    predicate: { note: 'evil\u009b2J\u202etext' },
    failure: { reason: 'ConditionFailed', detail: 'predicate "T": conditions[0].all[0]: no' },
  });
  const options: FormatOptions = { policy: 'p.yaml', printPredicate: false, describeAttestor: (l) => `key ${l}` };
  const mixed: AttestationReport = {
    verified: false,
    image: 'r.example/app@sha256:cc',
    digest: 'sha256:cc',
    predicateType: 'T',
    statements: [statement(), failed],
  };

  it('prints a line per statement and a summary; the first failure as admission words it', () => {
    expect(formatText(mixed, options)).toEqual({
      stdout:
        'pass  sigstore-bundle statement (referrer sha256:aa) by key k1.pub\n' +
        'fail  dsse-envelope statement (sha256-bb.att layer 1) by key k1.pub: ConditionFailed: predicate "T": ' +
        'conditions[0].all[0]: no\n' +
        'r.example/app@sha256:cc: 2 statements of predicate type "T" verified, 1 failed the conditions of "p.yaml"\n',
      stderr:
        'image verification failed for r.example/app@sha256:cc: attestation checks failed: predicate "T": ' +
        'conditions[0].all[0]: no\n',
    });
  });

  it('says when several statements all passed', () => {
    const passed = { ...mixed, verified: true, statements: [statement(), statement({ source: 'referrer sha256:dd' })] };
    expect(formatText(passed, options).stdout).toContain(
      'verified r.example/app@sha256:cc: 2 statements of predicate type "T", each passed the conditions of "p.yaml"\n',
    );
  });

  it('escapes what a terminal would act on in a printed predicate, and keeps it JSON', () => {
    const text = formatText(mixed, { ...options, printPredicate: true }).stdout;
    expect(text).toContain('"note": "evil\\u009b2J\\u202etext"');
    expect(text).not.toMatch(/[\u009b\u202e]/);
    const json = formatJson(mixed, { ...options, printPredicate: true });
    expect(json).not.toMatch(/[\u009b\u202e]/);
    const document = JSON.parse(json) as { statements: { predicate: unknown }[] };
    expect(document.statements[1]!.predicate).toEqual({ note: 'evil\u009b2J\u202etext' });
  });

  it('writes each statement, the policy and admission’s verdict as JSON', () => {
    expect(JSON.parse(formatJson(mixed, options))).toEqual({
      verified: false,
      image: 'r.example/app@sha256:cc',
      digest: 'sha256:cc',
      predicateType: 'T',
      policy: 'p.yaml',
      statements: [
        { pass: true, source: 'referrer sha256:aa', format: 'sigstore-bundle', attestor: 'key k1.pub' },
        {
          pass: false,
          source: 'sha256-bb.att layer 1',
          format: 'dsse-envelope',
          attestor: 'key k1.pub',
          reason: 'ConditionFailed',
          detail: 'predicate "T": conditions[0].all[0]: no',
        },
      ],
      reason: 'ConditionFailed',
      detail: 'predicate "T": conditions[0].all[0]: no',
      message:
        'image verification failed for r.example/app@sha256:cc: attestation checks failed: predicate "T": ' +
        'conditions[0].all[0]: no',
    });
  });

  it('keeps a registry failure’s diagnostic for whoever runs the command', () => {
    const report: AttestationReport = {
      verified: false,
      image: 'r.example/app:v1',
      predicateType: 'T',
      failure: { reason: 'RegistryError', detail: 'cannot connect', ociCode: 'NETWORK', diagnostic: 'ECONNRESET' },
    };
    expect(formatText(report, options)).toEqual({
      stdout: '',
      stderr:
        'image verification failed for r.example/app:v1: registry error: cannot connect\n  registry detail: ECONNRESET\n',
    });
    expect(JSON.parse(formatJson(report, options))).toMatchObject({
      verified: false,
      statements: [],
      reason: 'RegistryError',
      ociCode: 'NETWORK',
      diagnostic: 'ECONNRESET',
    });
  });
});
