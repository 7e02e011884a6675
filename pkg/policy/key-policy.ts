// A one-rule ClusterPolicy that requires signatures by the given keys: what `imprimatur verify-image` and the
// benchmark verify with, so that they go through the same compiler as every policy the operator reads.
import type { TrustRoot } from '../trust/index.js';
import { compile } from './compile.js';
import type { CompileError, CompiledAttestorSet } from './compiled-policy.js';
import type { Result } from '../result/index.js';
import { err, ok } from '../result/index.js';

export interface KeyPolicyOptions {
  /** How many of the texts must verify; all when undefined. */
  readonly count?: number;
  /** Accept signatures without a transparency-log entry (cosign --insecure-ignore-tlog). */
  readonly ignoreTlog?: boolean;
  readonly trustRoot?: TrustRoot;
}

/**
 * Compiles `publicKeys` (PEM texts, each possibly holding several keys) into one attestor set with an entry per
 * text.
 */
export function compileKeyAttestors(
  publicKeys: readonly string[],
  options: KeyPolicyOptions = {},
): Result<CompiledAttestorSet[], CompileError[]> {
  const { count, ignoreTlog, trustRoot } = options;
  const rekor = ignoreTlog ? { rekor: { ignoreTlog: true } } : {};
  const compiled = compile(
    {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'keys' },
      spec: {
        validationFailureAction: 'Enforce',
        rules: [
          {
            name: 'keys',
            match: { any: [{ resources: { kinds: ['Pod'] } }] },
            verifyImages: [
              {
                imageReferences: ['*'],
                attestors: [
                  {
                    ...(count ? { count } : {}),
                    entries: publicKeys.map((text) => ({ keys: { publicKeys: text, ...rekor } })),
                  },
                ],
              },
            ],
          },
        ],
      },
    },
    trustRoot ? { trustRoot } : {},
  );
  return compiled.ok ? ok([...compiled.value.rules[0]!.verifyImages[0]!.attestors]) : err(compiled.error);
}
