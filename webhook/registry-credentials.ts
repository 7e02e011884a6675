// The registry credentials of one admission: the pull Secrets that may apply to it, in the order the kubelet would
// try them, merged into one DockerConfig. Sources, first to last:
//   1. the verifyImages entry's imageRegistryCredentials.secrets — as Kyverno reads them, `name` is a Secret in the
//      operator's namespace and `namespace/name` names both (kyverno-verifyimages.md §3.11);
//   2. the Pod's own spec.imagePullSecrets, in the Pod's namespace — what the kubelet will pull the image with;
//   3. the operator's --imagePullSecrets, in the operator's namespace (the documented way to reach a private
//      registry: `kubectl create secret docker-registry regcred -n <operator namespace>`).
// For each registry the first Secret with credentials for it wins (mergeDockerConfigs). Kyverno drops 3 whenever 1
// or 2 name anything; keeping it last only adds credentials for registries the others do not cover.
//
// A Secret that is missing or does not parse is not a failure here: it is left out and reported as a problem, so
// that an image on a public registry still verifies, and an image on a private one fails with the registry's own
// answer plus the problem that explains it. Problems name Secrets by namespace/name, never quote their content.
import { mergeDockerConfigs, type DockerConfig } from '../pkg/oci/index.js';
import type { Result } from '../pkg/result/index.js';
import { quoteText, sanitizeText } from '../pkg/text/index.js';

/**
 * A pull Secret by namespace and name: its credentials, the reason it cannot be used (it does not parse, it is too
 * large, the Secrets are not loaded yet), or undefined when there is no pull Secret of that name.
 */
export type PullSecretLookup = (namespace: string, name: string) => Result<DockerConfig, string> | undefined;

export interface AdmissionCredentialsInput {
  /** Where the operator runs: bare names in ruleSecrets and operatorPullSecrets are Secrets there. */
  readonly operatorNamespace: string;
  /** The --imagePullSecrets names. */
  readonly operatorPullSecrets: readonly string[];
  /** The admitted object's namespace, where its own pull Secrets are. */
  readonly podNamespace: string;
  /** Names from the Pod spec's imagePullSecrets (ExtractedImages.imagePullSecrets). */
  readonly podPullSecrets: readonly string[];
  /** A verifyImages entry's imageRegistryCredentials.secrets: `name` or `namespace/name`. */
  readonly ruleSecrets: readonly string[];
  readonly lookup: PullSecretLookup;
}

export interface AdmissionCredentials {
  /** Every usable Secret's credentials, the first one for a registry winning. */
  readonly credentials: DockerConfig;
  /** One line per Secret left out, naming it and why; for the admission's log and failure messages. */
  readonly problems: readonly string[];
}

/** Longest Secret name (a DNS subdomain) plus a namespace and a slash, so a real reference is never cut. */
const MAX_REFERENCE_LENGTH = 253 + 1 + 63;

type Source = 'imageRegistryCredentials.secrets' | 'the Pod' | '--imagePullSecrets';

interface SecretRef {
  readonly namespace: string;
  readonly name: string;
  readonly source: Source;
}

export function toAdmissionCredentials(input: AdmissionCredentialsInput): AdmissionCredentials {
  const problems: string[] = [];
  const refs: SecretRef[] = [];
  for (const written of input.ruleSecrets) {
    const ref = parseRuleSecret(written, input.operatorNamespace);
    if (ref === undefined) {
      problems.push(
        `imageRegistryCredentials.secrets entry ${quoteText(written, MAX_REFERENCE_LENGTH)} is not a name or namespace/name`,
      );
    } else refs.push(ref);
  }
  // A Pod's names are names, slashes and all: the kubelet looks each up in the Pod's namespace, and so do we.
  // Empty ones are skipped, as the kubelet skips them.
  for (const name of input.podPullSecrets) {
    if (name !== '') refs.push({ namespace: input.podNamespace, name, source: 'the Pod' });
  }
  for (const name of input.operatorPullSecrets) {
    if (name !== '') refs.push({ namespace: input.operatorNamespace, name, source: '--imagePullSecrets' });
  }

  const configs: DockerConfig[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    // The same Secret named twice adds nothing the first mention did not, and its problem is reported once.
    const key = `${ref.namespace}/${ref.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const found = input.lookup(ref.namespace, ref.name);
    if (found?.ok) {
      configs.push(found.value);
      continue;
    }
    const where = `pull Secret ${sanitizeText(key, MAX_REFERENCE_LENGTH)} (from ${ref.source})`;
    problems.push(
      found === undefined
        ? `${where} not found: there is no Secret of type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg by that name`
        : `${where} not used: ${found.error}`,
    );
  }
  return { credentials: mergeDockerConfigs(configs), problems };
}

/** `name` is in the operator's namespace; `namespace/name` is explicit. Anything else names no Secret. */
function parseRuleSecret(written: string, operatorNamespace: string): SecretRef | undefined {
  const parts = written.split('/');
  const source = 'imageRegistryCredentials.secrets';
  if (parts.length === 1 && parts[0] !== '') return { namespace: operatorNamespace, name: parts[0]!, source };
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '')
    return { namespace: parts[0]!, name: parts[1]!, source };
  return undefined;
}
