// A one-rule ClusterPolicy made from command-line flags: the keys, or the keyless identity, that `imprimatur
// verify-image` and the benchmark verify with, so that they go through the same compiler as every policy the
// operator reads.
import type { TrustRoot } from '../trust/index.js';
import { compile } from './compile.js';
import type { CompileError, CompiledAttestorSet } from './compiled-policy.js';
import type { Result } from '../result/index.js';
import { err, ok } from '../result/index.js';

export interface KeyPolicyOptions {
  /** How many of the entries must verify; all when undefined. */
  readonly count?: number;
  /** Accept signatures without a transparency-log entry (cosign --insecure-ignore-tlog). */
  readonly ignoreTlog?: boolean;
  /** Accept certificates without a signed certificate timestamp (cosign --insecure-ignore-sct). */
  readonly ignoreSct?: boolean;
  readonly trustRoot?: TrustRoot;
}

/** Who must have signed keyless, as cosign's --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp). */
export interface KeylessIdentity {
  readonly subject?: string;
  readonly subjectRegExp?: string;
  readonly issuer?: string;
  readonly issuerRegExp?: string;
}

/**
 * Compiles `publicKeys` (PEM texts, each possibly holding several keys) into one attestor set with an entry per
 * text.
 */
export function compileKeyAttestors(
  publicKeys: readonly string[],
  options: KeyPolicyOptions = {},
): Result<CompiledAttestorSet[], CompileError[]> {
  const rekor = options.ignoreTlog ? { rekor: { ignoreTlog: true } } : {};
  return compileAttestorEntries(
    publicKeys.map((text) => ({ keys: { publicKeys: text, ...rekor } })),
    options,
  );
}

/**
 * Compiles a keyless identity into one attestor set: certificates from the trust root's certificate authorities,
 * with the identity given. The Rekor URL only names the log; entries are checked offline against the trust root.
 */
export function compileKeylessAttestor(
  identity: KeylessIdentity,
  options: KeyPolicyOptions = {},
): Result<CompiledAttestorSet[], CompileError[]> {
  const defined = Object.fromEntries(Object.entries(identity).filter(([, v]) => v !== undefined));
  return compileAttestorEntries(
    [
      {
        keyless: {
          ...defined,
          rekor: { url: 'https://rekor.sigstore.dev', ...(options.ignoreTlog ? { ignoreTlog: true } : {}) },
          ...(options.ignoreSct ? { ctlog: { ignoreSCT: true } } : {}),
        },
      },
    ],
    options,
  );
}

/** Compiles attestor entries as written in a policy into one attestor set of a one-rule ClusterPolicy. */
export function compileAttestorEntries(
  entries: readonly object[],
  options: KeyPolicyOptions = {},
): Result<CompiledAttestorSet[], CompileError[]> {
  const { count, trustRoot } = options;
  const compiled = compile(
    {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'flags' },
      spec: {
        validationFailureAction: 'Enforce',
        rules: [
          {
            name: 'flags',
            match: { any: [{ resources: { kinds: ['Pod'] } }] },
            verifyImages: [{ imageReferences: ['*'], attestors: [{ ...(count ? { count } : {}), entries }] }],
          },
        ],
      },
    },
    trustRoot ? { trustRoot } : {},
  );
  return compiled.ok ? ok([...compiled.value.rules[0]!.verifyImages[0]!.attestors]) : err(compiled.error);
}
