// The attestor sets of `imprimatur verify-image` and the benchmark: public keys, or a keyless identity, given on the
// command line, compiled as one attestor set by the same compiler as every policy's, with each entry labelled by
// what the user gave (a key file), so that a verified match names it.
import type { TrustRoot } from '../trust/index.js';
import { compileAttestorSet } from './attestors.js';
import type { CompileError, CompiledAttestorSet } from './compiled-policy.js';
import type { Result } from '../result/index.js';

export interface KeyPolicyOptions {
  /** How many of the entries must verify; all when undefined. */
  readonly count?: number;
  /** Accept signatures without a transparency-log entry (cosign --insecure-ignore-tlog). */
  readonly ignoreTlog?: boolean;
  /** Accept certificates without a signed certificate timestamp (cosign --insecure-ignore-sct). */
  readonly ignoreSct?: boolean;
  /** Annotations every signature must carry (cosign -a key=value). */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly trustRoot?: TrustRoot;
}

/** Who must have signed keyless, as cosign's --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp). */
export interface KeylessIdentity {
  readonly subject?: string;
  readonly subjectRegExp?: string;
  readonly issuer?: string;
  readonly issuerRegExp?: string;
}

/** One attestor set with an entry per PEM text (each possibly holding several keys), labelled by `labels`. */
export function compileKeyAttestors(
  publicKeys: readonly string[],
  options: KeyPolicyOptions & { readonly labels?: readonly string[] } = {},
): Result<CompiledAttestorSet, CompileError[]> {
  const rekor = options.ignoreTlog ? { rekor: { ignoreTlog: true } } : {};
  return compileEntries(
    publicKeys.map((text) => ({ keys: { publicKeys: text, ...rekor } })),
    options,
    options.labels,
  );
}

/**
 * One attestor set for a keyless identity: certificates from the trust root's certificate authorities, with the
 * identity given. The Rekor URL only names the log; entries are checked offline against the trust root.
 */
export function compileKeylessAttestor(
  identity: KeylessIdentity,
  options: KeyPolicyOptions = {},
): Result<CompiledAttestorSet, CompileError[]> {
  const defined = Object.fromEntries(Object.entries(identity).filter(([, v]) => v !== undefined));
  return compileEntries(
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

function compileEntries(
  entries: readonly object[],
  options: KeyPolicyOptions,
  labels?: readonly string[],
): Result<CompiledAttestorSet, CompileError[]> {
  const { count, trustRoot, annotations } = options;
  const annotated =
    annotations && Object.keys(annotations).length > 0 ? entries.map((e) => ({ ...e, annotations })) : entries;
  return compileAttestorSet(
    { ...(count !== undefined ? { count } : {}), entries: annotated },
    { field: 'attestors[0]', ...(labels ? { labels } : {}), ...(trustRoot ? { trustRoot } : {}) },
  );
}
