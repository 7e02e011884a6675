// `imprimatur verify-attestation IMAGE --key FILE --type TYPE [--policy FILE]`: cosign verify-attestation on the code
// path admission uses. The flags become one attestation as a policy's verifyImages[].attestations[] entry compiles:
// the predicate type (cosign's --type shorthands), one attestor set (verification-flags.ts, as verify-image has it)
// and the conditions of --policy, compiled by pkg/conditions. The image is resolved, its attestations of that type
// discovered and checked by pkg/cosign as the webhook does, and every verified statement is printed with what its
// conditions came to. The exit code is admission's verdict: 0 when every verified statement passed (as
// checkAttestations requires), 1 when verification failed, 2 for a usage error.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import type { AnyAllConditionsType } from '../pkg/api/v1/index.js';
import {
  compileConditions,
  evaluateConditions,
  MAX_NESTING_DEPTH,
  type CompiledConditions,
} from '../pkg/conditions/index.js';
import {
  checkAttestationStatements,
  discoverAttestations,
  resolvePredicateType,
  resolveImage,
  toFailureMessage,
  WorkBudget,
  type ImageRegistry,
  type StatementOutcome,
  type VerifyFailure,
} from '../pkg/cosign/index.js';
import { parseImageRef, toKyvernoString, type ImageRef } from '../pkg/imageref/index.js';
import type { CompiledAttestation, KeylessIdentity } from '../pkg/policy/index.js';
import { err, type Result } from '../pkg/result/index.js';
import { readVerificationFlags, registryClientOf, VERIFICATION_FLAG_OPTIONS } from './verification-flags.js';

export const VERIFY_ATTESTATION_USAGE = `Usage: imprimatur verify-attestation IMAGE --key FILE [--type TYPE] [--policy FILE] [flags]
       imprimatur verify-attestation IMAGE --certificate-identity ID --certificate-oidc-issuer URL [--type TYPE] [flags]

Verifies the in-toto attestations of IMAGE that cosign attest wrote (legacy .att layers and Sigstore bundles), as the
admission webhook verifies a policy's verifyImages[].attestations[] entry: the statements of predicate type TYPE
signed with the given keys (or keyless by the given identity) for IMAGE's digest, each checked against the conditions
of --policy. Prints one line per verified statement (pass, or the reason it failed), then a summary.
Exits 0 when every verified statement passed, 1 when none verified or one failed (with admission's message on
stderr), 2 on a usage error.

Flags:
  --type=TYPE                the predicate type: slsaprovenance|slsaprovenance02|slsaprovenance1|link|spdx|spdxjson|
                             cyclonedx|vuln|openvex|custom (cosign's shorthands; default custom) or an absolute URI
  --policy=FILE              YAML or JSON: the conditions a statement's predicate must satisfy, as Kyverno writes
                             attestations[].conditions (a list of {any, all} blocks), or an object whose conditions
                             key holds that list (other keys are ignored). Without it, statements only need to verify
  --key=FILE                 PEM public key(s); repeatable, and a file may hold several keys
  --certificate-identity=ID  keyless: the certificate's subject (email or URI); Kyverno wildcards allowed
  --certificate-identity-regexp=RE       keyless: a regular expression the subject must match
  --certificate-oidc-issuer=URL          keyless: the OIDC issuer; wildcards allowed
  --certificate-oidc-issuer-regexp=RE    keyless: a regular expression the issuer must match
  --insecure-ignore-sct      keyless: accept certificates without a signed certificate timestamp
  --count=N                  how many of the keys must have signed (default: all of them)
  -a, --annotations=KEY=VALUE  an annotation every statement's subject must carry; repeatable
  --repository=REPO          where the attestations are stored, if not beside the image (COSIGN_REPOSITORY)
  --trusted-root=FILE        Sigstore trusted_root.json with the Rekor keys that transparency-log entries are checked with
  --insecure-ignore-tlog     accept attestations without a transparency-log entry (as cosign's flag of that name)
  --insecure-registry=HOST   speak plain HTTP to HOST (host[:port]); repeatable
  --allow-insecure-registry  skip registries' certificate checks, and use plain HTTP when HTTPS fails (cosign's flag)
  --docker-config=FILE       credentials file (default: $DOCKER_CONFIG/config.json, then ~/.docker/config.json)
  --timeout=SECONDS          overall deadline (default 30)
  --output=text|json         output format (default text)
  --print-predicate          print each statement's predicate too (as the conditions see it: a custom predicate's
                             Data parsed when it is JSON); JSON output leaves predicates out without it
`;

/** Where the command writes; the process's streams unless a test gives its own. */
export interface CommandOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const PROCESS_OUTPUT: CommandOutput = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** The field the flags' attestation is named by in messages (AttestationNotFound names it first). */
const ATTESTATION_FIELD = '--type';

export async function runVerifyAttestation(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  out: CommandOutput = PROCESS_OUTPUT,
): Promise<number> {
  const fail = (message: string) => {
    out.stderr(`imprimatur verify-attestation: ${message}\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        ...VERIFICATION_FLAG_OPTIONS,
        type: { type: 'string', default: 'custom' },
        policy: { type: 'string' },
        output: { type: 'string', default: 'text' },
        'print-predicate': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${VERIFY_ATTESTATION_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out.stdout(VERIFY_ATTESTATION_USAGE);
    return 0;
  }
  if (positionals.length !== 1) return fail(`expected exactly one IMAGE\n\n${VERIFY_ATTESTATION_USAGE}`);
  if (values.output !== 'text' && values.output !== 'json')
    return fail(`--output: invalid value ${JSON.stringify(values.output)}: expected text or json`);
  const predicateType = resolvePredicateType(values.type);
  if (!predicateType.ok) return fail(`--type: ${predicateType.error}`);
  const image = parseImageRef(positionals[0]!);
  if (!image.ok) return fail(image.error);
  const flags = readVerificationFlags(values, env);
  if (!flags.ok) return fail(flags.error);
  let conditions: CompiledConditions = { field: 'conditions', blocks: [] };
  if (values.policy !== undefined) {
    const policy = readPolicyFile(values.policy);
    if (!policy.ok) return fail(policy.error);
    conditions = policy.value;
  }
  const { attestors, repository, registry, identity } = flags.value;
  const attestation: CompiledAttestation = {
    field: ATTESTATION_FIELD,
    predicateType: predicateType.value,
    attestors: [attestors],
    conditions,
  };
  const report = await verifyAttestation({
    attestation,
    image: image.value,
    ...(repository ? { repository } : {}),
    registry: registryClientOf(registry),
    signal: AbortSignal.timeout(registry.timeoutMs),
  });
  const options: FormatOptions = {
    ...(values.policy !== undefined ? { policy: values.policy } : {}),
    printPredicate: values['print-predicate'],
    describeAttestor: identity ? () => describeIdentity(identity) : (label) => `key ${label}`,
  };
  if (values.output === 'json') {
    out.stdout(formatJson(report, options));
  } else {
    const text = formatText(report, options);
    if (text.stdout) out.stdout(text.stdout);
    if (text.stderr) out.stderr(text.stderr);
  }
  return report.verified ? 0 : 1;
}

/** What verifying one attestation of one image came to. */
export type AttestationReport = {
  /** The image as given, pinned to its digest once resolved. */
  readonly image: string;
  readonly digest?: string;
  readonly predicateType: string;
} & (
  | {
      /** Every verified statement passed. */
      readonly verified: boolean;
      /** Every statement of the type that verified, with its conditions' outcome; never empty. */
      readonly statements: readonly StatementOutcome[];
    }
  | { readonly verified: false; readonly failure: VerifyFailure }
);

export interface VerifyAttestationRequest {
  readonly attestation: CompiledAttestation;
  readonly image: ImageRef;
  /** Where the attestations are stored, when not beside the image. */
  readonly repository?: ImageRef;
  readonly registry: ImageRegistry;
  readonly signal?: AbortSignal;
  /** The clock of the conditions' time functions; Date.now by default. */
  readonly now?: () => number;
}

/** Admission's stages for one attestation: resolve the image, discover its attestations of the type, check them. */
export async function verifyAttestation(request: VerifyAttestationRequest): Promise<AttestationReport> {
  const { attestation, registry, signal } = request;
  const predicateType = attestation.predicateType;
  const resolved = await resolveImage(request.image, { registry, ...(signal ? { signal } : {}) });
  if (!resolved.ok) {
    return { verified: false, image: toKyvernoString(request.image), predicateType, failure: resolved.error };
  }
  const { digest } = resolved.value;
  const image = toKyvernoString(resolved.value.image);
  const budget = new WorkBudget();
  const discovered = await discoverAttestations(
    { repository: request.repository ?? request.image, digest },
    { registry, budget, ...(signal ? { signal } : {}) },
    new Set([predicateType]),
  );
  if (!discovered.ok) return { verified: false, image, digest, predicateType, failure: discovered.error };
  const now = request.now ?? Date.now;
  const checked = await checkAttestationStatements(attestation, discovered.value, {
    digest,
    budget,
    ...(signal ? { signal } : {}),
    evaluate: (a, predicate) => evaluateConditions(a.conditions, predicate, { now }),
  });
  if (!checked.ok) return { verified: false, image, digest, predicateType, failure: checked.error };
  const statements = checked.value;
  return { verified: statements.every((s) => !s.failure), image, digest, predicateType, statements };
}

/**
 * The conditions of a --policy file: YAML or JSON holding a list of {any, all} blocks, as Kyverno writes
 * attestations[].conditions, or an object whose `conditions` holds that list (an attestations[] entry as written).
 */
export function readPolicyFile(file: string): Result<CompiledConditions, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return err(`--policy: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parsePolicy(text, file);
}

/** parsePolicy's expectation, for its messages. */
const POLICY_SHAPE =
  'expected a list of {any, all} blocks (as attestations[].conditions), or an object with conditions';

export function parsePolicy(text: string, file: string): Result<CompiledConditions, string> {
  const at = `--policy ${file}`;
  let value: unknown;
  try {
    // YAML 1.2 reads JSON too; merge keys as kubectl's YAML reads them.
    const document = parseDocument(text, { merge: true });
    if (document.errors.length > 0) return err(`${at}: ${firstLine(document.errors[0]!.message)}`);
    value = document.toJS();
  } catch (e) {
    return err(`${at}: ${firstLine((e as Error).message)}`);
  }
  let blocks: unknown;
  if (Array.isArray(value)) {
    blocks = value;
  } else if (isObject(value) && 'conditions' in value) {
    blocks = value['conditions'];
    if (!Array.isArray(blocks)) return err(`${at}: conditions: must be a list of {any, all} blocks`);
  } else if (isObject(value) && ('any' in value || 'all' in value)) {
    return err(`${at}: ${POLICY_SHAPE}; a single block is a list of one (- all: …)`);
  } else {
    const what = value === null || value === undefined ? 'the file is empty' : `not a policy`;
    return err(`${at}: ${what}: ${POLICY_SHAPE}`);
  }
  // What a policy's conditions can hold, as the API server has them: JSON, not YAML's binary or infinite values.
  const notJson = findNonJson(blocks, 'conditions');
  if (notJson) return err(`${at}: ${notJson}`);
  const compiled = compileConditions(blocks as AnyAllConditionsType[], 'conditions');
  if (compiled.ok) return compiled;
  const problems = compiled.error.map((e) => `${e.field}: ${e.message}`);
  return err(
    problems.length === 1
      ? `${at}: ${problems[0]!}`
      : `${at}: ${problems.length} problems:\n${problems.map((p) => `  ${p}`).join('\n')}`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What in `value` JSON cannot hold, with its path: YAML's !!binary, .inf and .nan, an alias that holds itself, or
 * nesting deeper than the conditions follow. Undefined when it is all JSON.
 */
function findNonJson(value: unknown, path: string, ancestors: object[] = []): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path}: not a JSON value`;
  if (typeof value !== 'object') return `${path}: not a JSON value`;
  if (ancestors.includes(value)) return `${path}: a YAML alias inside itself`;
  if (ancestors.length >= MAX_NESTING_DEPTH) return `${path}: nested deeper than ${MAX_NESTING_DEPTH} levels`;
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findNonJson(v, `${path}[${i}]`, inner);
      if (found) return found;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return `${path}: not a JSON value`;
  for (const [k, v] of Object.entries(value)) {
    const found = findNonJson(v, `${path}.${k}`, inner);
    if (found) return found;
  }
  return undefined;
}

/** A YAML error's first line, with its position: the code frame after it is left out. */
function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.trim().replace(/:$/, '');
}

export interface FormatOptions {
  /** The --policy file, when one was given. */
  readonly policy?: string;
  readonly printPredicate: boolean;
  /** How the verifying attestor is named: a key by its file, keyless by the identity asked for. */
  readonly describeAttestor: (label: string) => string;
}

/** A keyless identity as the flags asked for it; a regular expression between slashes. */
export function describeIdentity(identity: KeylessIdentity): string {
  const subject = identity.subject ?? `/${identity.subjectRegExp ?? ''}/`;
  const issuer = identity.issuer ?? (identity.issuerRegExp !== undefined ? `/${identity.issuerRegExp}/` : undefined);
  return `identity ${subject} (${issuer === undefined ? 'any issuer' : `issuer ${issuer}`})`;
}

/**
 * Text: a line per verified statement (`pass` or `fail`, its format, where it was found, its attestor, and for a
 * failure its reason and detail), then a summary, on stdout; when verification failed, admission's message on stderr.
 */
export function formatText(report: AttestationReport, options: FormatOptions): { stdout: string; stderr: string } {
  const type = JSON.stringify(report.predicateType);
  if ('failure' in report) {
    const diagnostic = report.failure.diagnostic ? `  registry detail: ${report.failure.diagnostic}\n` : '';
    return { stdout: '', stderr: `${toFailureMessage(report.image, report.failure)}\n${diagnostic}` };
  }
  const lines: string[] = [];
  for (const s of report.statements) {
    const where = `${s.format} statement (${s.source}) by ${options.describeAttestor(s.attestor)}`;
    lines.push(s.failure ? `fail  ${where}: ${s.failure.reason}: ${s.failure.detail}` : `pass  ${where}`);
    if (options.printPredicate) lines.push(indent(toSafeJson(s.predicate, 2), '      '));
  }
  const count = report.statements.length;
  const failed = report.statements.filter((s) => s.failure).length;
  const statements = `${count} statement${count === 1 ? '' : 's'} of predicate type ${type}`;
  const policy = options.policy === undefined ? undefined : JSON.stringify(options.policy);
  if (report.verified) {
    lines.push(
      policy === undefined
        ? `verified ${report.image}: ${statements} (no --policy: no conditions checked)`
        : `verified ${report.image}: ${statements}, ${count === 1 ? 'it' : 'each'} passed the conditions of ${policy}`,
    );
    return { stdout: `${lines.join('\n')}\n`, stderr: '' };
  }
  lines.push(
    `${report.image}: ${statements} verified, ${failed} failed the conditions${policy ? ` of ${policy}` : ''}`,
  );
  // The first statement that failed is the one admission names.
  const first = report.statements.find((s) => s.failure)!.failure!;
  return { stdout: `${lines.join('\n')}\n`, stderr: `${toFailureMessage(report.image, first)}\n` };
}

/**
 * JSON: { verified, image, digest, predicateType, policy, statements: [{ pass, source, format, attestor, reason,
 * detail, predicate }], reason, detail, message } with admission's reason and message when verification failed, and
 * the predicates only with --print-predicate.
 */
export function formatJson(report: AttestationReport, options: FormatOptions): string {
  const statements =
    'statements' in report
      ? report.statements.map((s) => ({
          pass: s.failure === undefined,
          source: s.source,
          format: s.format,
          attestor: options.describeAttestor(s.attestor),
          ...(s.failure ? { reason: s.failure.reason, detail: s.failure.detail } : {}),
          ...(options.printPredicate ? { predicate: s.predicate } : {}),
        }))
      : [];
  const failure =
    'failure' in report ? report.failure : report.statements.find((s) => s.failure !== undefined)?.failure;
  const document = {
    verified: report.verified,
    image: report.image,
    ...(report.digest !== undefined ? { digest: report.digest } : {}),
    predicateType: report.predicateType,
    ...(options.policy !== undefined ? { policy: options.policy } : {}),
    statements,
    ...(failure ? { ...failure, message: toFailureMessage(report.image, failure) } : {}),
  };
  return `${toSafeJson(document, 2)}\n`;
}

/**
 * JSON.stringify, with the characters a terminal may act on that JSON leaves as they are (C1 controls, line and
 * paragraph separators, bidirectional overrides) escaped too: predicates are a signer's text. Still the same JSON.
 */
function toSafeJson(value: unknown, space: number): string {
  return (JSON.stringify(value, null, space) ?? 'null').replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}
