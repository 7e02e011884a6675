// `imprimatur verify-image IMAGE --key FILE`: verifies an image's signatures on the code path admission uses. The
// flags become one attestor set (verification-flags.ts), compiled by the policy compiler with each key labelled by its
// file, and verified by pkg/cosign's stages (resolve, discover, check), exactly as the webhook does.
import { parseArgs } from 'node:util';
import { verifyImage } from '../pkg/cosign/index.js';
import { parseImageRef } from '../pkg/imageref/index.js';
import {
  checkSignerFlags,
  readVerificationFlags,
  registryClientOf,
  VERIFICATION_FLAG_OPTIONS,
} from './verification-flags.js';

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
        ...VERIFICATION_FLAG_OPTIONS,
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
  const signers = checkSignerFlags(values);
  if (signers) return fail(signers);
  if (values.output !== 'text' && values.output !== 'json')
    return fail(`--output: invalid value ${JSON.stringify(values.output)}: expected text or json`);
  const image = parseImageRef(positionals[0]!);
  if (!image.ok) return fail(image.error);
  const flags = readVerificationFlags(values, env);
  if (!flags.ok) return fail(flags.error);
  const { attestors, repository, registry } = flags.value;
  const keyless = flags.value.identity !== undefined;
  const outcome = await verifyImage(
    {
      image: image.value,
      attestors: [attestors],
      ...(repository ? { repository } : {}),
    },
    { registry: registryClientOf(registry), signal: AbortSignal.timeout(registry.timeoutMs) },
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
