// `imprimatur verify-image IMAGE --key FILE`: verifies an image's signatures on the code path admission uses. The
// flags become one attestor set, compiled by the policy compiler with each key labelled by its file, and verified by
// pkg/cosign's stages (resolve, discover, check), exactly as the webhook does.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyImage } from '../pkg/cosign/index.js';
import { parseImageRef } from '../pkg/imageref/index.js';
import { RegistryClient } from '../pkg/oci/index.js';
import { compileKeyAttestors, compileKeylessAttestor } from '../pkg/policy/index.js';
import { parseRegistryFlags, REGISTRY_FLAG_OPTIONS } from './digest.js';
import { loadTrustedRoot } from './trusted-root.js';
import { err, ok, type Result } from '../pkg/result/index.js';

export const VERIFY_USAGE = `Usage: imprimatur verify-image IMAGE --key FILE [flags]
       imprimatur verify-image IMAGE --certificate-identity ID --certificate-oidc-issuer URL [flags]

Verifies the cosign signatures of IMAGE with the given public keys, or keyless signatures by the given identity
(against the certificate authorities and CT logs of --trusted-root), as the admission webhook does.
Exits 0 and prints the verified digest and the matching key or identity, or exits 1 with the reason.

Flags:
  --key=FILE                 PEM public key(s); repeatable, and a file may hold several keys
  --certificate-identity=ID  keyless: the certificate's subject (email or URI); Kyverno wildcards allowed
  --certificate-identity-regexp=RE       keyless: a regular expression the subject must match
  --certificate-oidc-issuer=URL          keyless: the OIDC issuer; wildcards allowed
  --certificate-oidc-issuer-regexp=RE    keyless: a regular expression the issuer must match
  --insecure-ignore-sct      keyless: accept certificates without a signed certificate timestamp
  --count=N                  how many of the keys must have signed (default: all of them)
  -a, --annotations=KEY=VALUE  an annotation every signature must carry (cosign sign -a); repeatable
  --repository=REPO          where the signatures are stored, if not beside the image (COSIGN_REPOSITORY)
  --trusted-root=FILE        Sigstore trusted_root.json with the Rekor keys that transparency-log entries are checked with
  --insecure-ignore-tlog     accept signatures without a transparency-log entry (as cosign's flag of that name)
  --insecure-registry=HOST   speak plain HTTP to HOST (host[:port]); repeatable
  --allow-insecure-registry  skip registries' certificate checks, and use plain HTTP when HTTPS fails (cosign's flag)
  --docker-config=FILE       credentials file (default: $DOCKER_CONFIG/config.json, then ~/.docker/config.json)
  --timeout=SECONDS          overall deadline (default 30)
  --output=text|json         output format (default text)
`;

export async function runVerifyImage(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`imprimatur verify-image: ${message}\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        ...REGISTRY_FLAG_OPTIONS,
        key: { type: 'string', multiple: true },
        count: { type: 'string' },
        annotations: { type: 'string', short: 'a', multiple: true },
        repository: { type: 'string' },
        'trusted-root': { type: 'string' },
        'insecure-ignore-tlog': { type: 'boolean', default: false },
        'insecure-ignore-sct': { type: 'boolean', default: false },
        'certificate-identity': { type: 'string' },
        'certificate-identity-regexp': { type: 'string' },
        'certificate-oidc-issuer': { type: 'string' },
        'certificate-oidc-issuer-regexp': { type: 'string' },
        output: { type: 'string', default: 'text' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${VERIFY_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(VERIFY_USAGE);
    return 0;
  }
  if (positionals.length !== 1) return fail(`expected exactly one IMAGE\n\n${VERIFY_USAGE}`);
  const identity = {
    subject: values['certificate-identity'],
    subjectRegExp: values['certificate-identity-regexp'],
    issuer: values['certificate-oidc-issuer'],
    issuerRegExp: values['certificate-oidc-issuer-regexp'],
  };
  const keyless = Object.values(identity).some((v) => v !== undefined);
  if (keyless && values.key?.length) return fail('--key and --certificate-identity* flags do not go together');
  if (keyless && !identity.subject && !identity.subjectRegExp)
    return fail('--certificate-identity or --certificate-identity-regexp is required for keyless verification');
  if (!keyless && !values.key?.length)
    return fail('--key: at least one public key file is required (or --certificate-identity for keyless)');
  if (values.output !== 'text' && values.output !== 'json')
    return fail(`--output: invalid value ${JSON.stringify(values.output)}: expected text or json`);
  const image = parseImageRef(positionals[0]!);
  if (!image.ok) return fail(image.error);
  let repository;
  if (values.repository) {
    const repo = parseImageRef(values.repository);
    if (!repo.ok) return fail(`--repository: ${repo.error}`);
    repository = repo.value;
  }
  const keys: string[] = [];
  for (const file of values.key ?? []) {
    try {
      keys.push(readFileSync(file, 'utf8'));
    } catch (e) {
      return fail(`--key: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 1))
    return fail(`--count: invalid value ${JSON.stringify(values.count)}`);
  const flags = parseRegistryFlags(values, env);
  if (!flags.ok) return fail(flags.error);
  const annotations = parseAnnotations(values.annotations ?? []);
  if (!annotations.ok) return fail(annotations.error);

  // One attestor entry per file, so that a match names its file.
  const trustRoot = loadTrustedRoot(values['trusted-root']);
  if (!trustRoot.ok) return fail(trustRoot.error);
  const policyOptions = {
    ...(count !== undefined ? { count } : {}),
    ignoreTlog: values['insecure-ignore-tlog'],
    ignoreSct: values['insecure-ignore-sct'],
    trustRoot: trustRoot.value,
    annotations: annotations.value,
  };
  const compiled = keyless
    ? compileKeylessAttestor(identity, policyOptions)
    : compileKeyAttestors(keys, { ...policyOptions, labels: values.key ?? [] });
  if (!compiled.ok) {
    // Field paths of the generated policy mean nothing here; the message says what is wrong with the keys.
    const missing = compiled.error.filter((e) => e.reason === 'MissingTrustRoot');
    if (missing.some((e) => e.field.endsWith('rekor'))) {
      return fail(
        'signatures are checked against the Rekor transparency log, and no Rekor key is known: give --trusted-root, ' +
          'or --insecure-ignore-tlog to accept signatures without a log entry',
      );
    }
    if (missing.length > 0) {
      return fail(
        'keyless signatures are checked against a Fulcio CA and CT log, and --trusted-root holds none' +
          (missing.some((e) => e.field.endsWith('ctlog')) ? ' (or give --insecure-ignore-sct to skip the CT log)' : ''),
      );
    }
    return fail(`${keyless ? 'keyless' : '--key'}: ${compiled.error.map((e) => e.message).join('; ')}`);
  }
  const client = new RegistryClient({
    insecureRegistries: flags.value.insecureRegistries,
    allowInsecureRegistry: flags.value.allowInsecureRegistry,
    ...(flags.value.dockerConfig ? { credentials: flags.value.dockerConfig } : {}),
  });
  const outcome = await verifyImage(
    {
      image: image.value,
      attestors: [compiled.value],
      ...(repository ? { repository } : {}),
    },
    { registry: client, signal: AbortSignal.timeout(flags.value.timeoutMs) },
  );
  // A key is named by its file, the label it was compiled with.
  const keyNames = outcome.verified
    ? outcome.matches.map(({ attestor, ...m }) => {
        if (keyless)
          return { ...m, key: `identity ${m.identity?.subject ?? '?'} (issuer ${m.identity?.issuer ?? '?'})` };
        return { ...m, key: m.keyIndex > 0 ? `${attestor} (key ${m.keyIndex + 1})` : attestor };
      })
    : [];
  if (values.output === 'json') {
    process.stdout.write(
      `${JSON.stringify(outcome.verified ? { ...outcome, matches: keyNames } : outcome, null, 2)}\n`,
    );
  } else if (outcome.verified) {
    process.stdout.write(`verified ${outcome.image}\n`);
    for (const m of keyNames) {
      const signer = keyless ? m.key : `key ${m.key}`;
      process.stdout.write(
        `  ${signer}: ${m.scheme ? `${m.scheme} ` : ''}${m.format} signature ${m.signature} (${m.source})\n`,
      );
    }
  } else {
    process.stderr.write(`${outcome.message}\n`);
    // What the network said is kept out of deny messages; whoever runs the CLI operates the registry access.
    if (outcome.diagnostic) process.stderr.write(`  registry detail: ${outcome.diagnostic}\n`);
  }
  return outcome.verified ? 0 : 1;
}

/** `-a key=value` flags, as cosign takes them; a key given twice is an error rather than a silent choice. */
function parseAnnotations(flags: readonly string[]): Result<Record<string, string>, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) return err(`--annotations: invalid value ${JSON.stringify(flag)}: expected KEY=VALUE`);
    const key = flag.slice(0, eq);
    if (Object.hasOwn(out, key)) return err(`--annotations: ${JSON.stringify(key)} is given twice`);
    out[key] = flag.slice(eq + 1);
  }
  return ok(out);
}
