// A one-rule ClusterPolicy that requires signatures by the given keys: what `imprimatur verify-image` and the
// benchmark verify with, so that they go through the same compiler as every policy the operator reads.
import { compile } from './compile.js';
import type { CompileError, CompiledAttestorSet } from './compiled-policy.js';
import type { Result } from '../result/index.js';
import { err, ok } from '../result/index.js';

/**
 * Compiles `publicKeys` (PEM texts, each possibly holding several keys) into one attestor set with an entry per
 * text, of which `count` must verify (all when undefined).
 */
export function compileKeyAttestors(
  publicKeys: readonly string[],
  count?: number,
): Result<CompiledAttestorSet[], CompileError[]> {
  const compiled = compile({
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
                { ...(count ? { count } : {}), entries: publicKeys.map((text) => ({ keys: { publicKeys: text } })) },
              ],
            },
          ],
        },
      ],
    },
  });
  return compiled.ok ? ok([...compiled.value.rules[0]!.verifyImages[0]!.attestors]) : err(compiled.error);
}
