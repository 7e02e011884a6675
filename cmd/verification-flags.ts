// The flags of the commands that verify with signers named on the command line (verify-image, verify-attestation):
// public keys or a keyless identity, the trusted root, required annotations, a signature repository and the registry
// flags. They become one attestor set, compiled by the policy compiler with each key labelled by its file, as a
// policy's attestors are.
import { readFileSync } from 'node:fs';
import { parseImageRef, type ImageRef } from '../pkg/imageref/index.js';
import { RegistryClient } from '../pkg/oci/index.js';
import {
  compileKeyAttestors,
  compileKeylessAttestor,
  type CompiledAttestorSet,
  type KeylessIdentity,
} from '../pkg/policy/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';
import { parseRegistryFlags, REGISTRY_FLAG_OPTIONS, type RegistryFlags } from './digest.js';
import { loadTrustedRoot } from './trusted-root.js';

/** node:util parseArgs options of the verification flags; each command adds its own. */
export const VERIFICATION_FLAG_OPTIONS = {
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
} as const;

/** What parseArgs gives for VERIFICATION_FLAG_OPTIONS. */
export interface VerificationFlagValues {
  readonly key?: string[];
  readonly count?: string;
  readonly annotations?: string[];
  readonly repository?: string;
  readonly 'trusted-root'?: string;
  readonly 'insecure-ignore-tlog'?: boolean;
  readonly 'insecure-ignore-sct'?: boolean;
  readonly 'certificate-identity'?: string;
  readonly 'certificate-identity-regexp'?: string;
  readonly 'certificate-oidc-issuer'?: string;
  readonly 'certificate-oidc-issuer-regexp'?: string;
  readonly 'insecure-registry'?: string[];
  readonly 'allow-insecure-registry'?: boolean;
  readonly 'docker-config'?: string;
  readonly timeout?: string;
}

export interface VerificationFlags {
  /** One attestor set: an entry per --key file, labelled by it, or the keyless identity. */
  readonly attestors: CompiledAttestorSet;
  /** The keyless identity asked for; undefined when verifying with keys. */
  readonly identity?: KeylessIdentity;
  /** --repository, parsed. */
  readonly repository?: ImageRef;
  readonly registry: RegistryFlags;
}

function identityOf(values: VerificationFlagValues): KeylessIdentity | undefined {
  const identity = {
    subject: values['certificate-identity'],
    subjectRegExp: values['certificate-identity-regexp'],
    issuer: values['certificate-oidc-issuer'],
    issuerRegExp: values['certificate-oidc-issuer-regexp'],
  };
  return Object.values(identity).some((v) => v !== undefined) ? identity : undefined;
}

/** Whether the signer flags name keys or a keyless identity, and not both: an error message, or undefined. */
export function checkSignerFlags(values: VerificationFlagValues): string | undefined {
  const identity = identityOf(values);
  if (identity && values.key?.length) return '--key and --certificate-identity* flags do not go together';
  if (identity && !identity.subject && !identity.subjectRegExp)
    return '--certificate-identity or --certificate-identity-regexp is required for keyless verification';
  if (!identity && !values.key?.length)
    return '--key: at least one public key file is required (or --certificate-identity for keyless)';
  return undefined;
}

/**
 * Reads and compiles the verification flags: the signature repository, the key files, --count, the registry flags,
 * the annotations and the trusted root, in that order; the first problem is the message, naming its flag.
 */
export function readVerificationFlags(
  values: VerificationFlagValues,
  env: Readonly<Record<string, string | undefined>>,
): Result<VerificationFlags, string> {
  const signer = checkSignerFlags(values);
  if (signer) return err(signer);
  const identity = identityOf(values);
  let repository;
  if (values.repository) {
    const repo = parseImageRef(values.repository);
    if (!repo.ok) return err(`--repository: ${repo.error}`);
    repository = repo.value;
  }
  const keys: string[] = [];
  for (const file of values.key ?? []) {
    try {
      keys.push(readFileSync(file, 'utf8'));
    } catch (e) {
      return err(`--key: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 1))
    return err(`--count: invalid value ${JSON.stringify(values.count)}`);
  const registry = parseRegistryFlags(values, env);
  if (!registry.ok) return registry;
  const annotations = parseAnnotations(values.annotations ?? []);
  if (!annotations.ok) return annotations;
  const trustRoot = loadTrustedRoot(values['trusted-root']);
  if (!trustRoot.ok) return trustRoot;

  // One attestor entry per file, so that a match names its file.
  const policyOptions = {
    ...(count !== undefined ? { count } : {}),
    ignoreTlog: values['insecure-ignore-tlog'] === true,
    ignoreSct: values['insecure-ignore-sct'] === true,
    trustRoot: trustRoot.value,
    annotations: annotations.value,
  };
  const compiled = identity
    ? compileKeylessAttestor(identity, policyOptions)
    : compileKeyAttestors(keys, { ...policyOptions, labels: values.key ?? [] });
  if (!compiled.ok) {
    // Field paths of the generated policy mean nothing here; the message says what is wrong with the keys.
    const missing = compiled.error.filter((e) => e.reason === 'MissingTrustRoot');
    if (missing.some((e) => e.field.endsWith('rekor'))) {
      return err(
        'signatures are checked against the Rekor transparency log, and no Rekor key is known: give --trusted-root, ' +
          'or --insecure-ignore-tlog to accept signatures without a log entry',
      );
    }
    if (missing.length > 0) {
      return err(
        'keyless signatures are checked against a Fulcio CA and CT log, and --trusted-root holds none' +
          (missing.some((e) => e.field.endsWith('ctlog')) ? ' (or give --insecure-ignore-sct to skip the CT log)' : ''),
      );
    }
    return err(`${identity ? 'keyless' : '--key'}: ${compiled.error.map((e) => e.message).join('; ')}`);
  }
  return ok({
    attestors: compiled.value,
    ...(identity ? { identity } : {}),
    ...(repository ? { repository } : {}),
    registry: registry.value,
  });
}

/** The registry client the registry flags describe. */
export function registryClientOf(flags: RegistryFlags): RegistryClient {
  return new RegistryClient({
    insecureRegistries: flags.insecureRegistries,
    allowInsecureRegistry: flags.allowInsecureRegistry,
    ...(flags.dockerConfig ? { credentials: flags.dockerConfig } : {}),
  });
}

/** `-a key=value` flags, as cosign takes them; a key given twice is an error rather than a silent choice. */
export function parseAnnotations(flags: readonly string[]): Result<Record<string, string>, string> {
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
