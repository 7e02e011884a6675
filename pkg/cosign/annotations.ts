// Policy annotations (`attestors[].entries[].annotations`, the legacy `annotations`) bind a signature to what the
// signer said with `cosign sign -a key=value`: every required key must be there with the same value, as cosign's
// correctAnnotations checks. Legacy signatures carry them in the payload's `optional` map; cosign v3 bundles on the
// in-toto subject that names the image. Either way they are signed, so they are checked only after the signature.
import { quoteText } from '../text/index.js';

/** Why `found` does not hold every required annotation, or undefined when it does. */
export function findAnnotationMismatch(
  found: ReadonlyMap<string, unknown>,
  required: Readonly<Record<string, string>>,
): string | undefined {
  for (const [key, value] of Object.entries(required)) {
    const have = found.get(key);
    if (have === value) continue;
    const shown = have === undefined ? 'none' : quoteText(have);
    return `annotation ${JSON.stringify(key)} is ${shown}, the policy requires ${JSON.stringify(value)}`;
  }
  return undefined;
}
