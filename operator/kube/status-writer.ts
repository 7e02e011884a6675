// Writes a policy's status through the status subresource with a JSON merge patch: only status changes, and
// the patch carries no resourceVersion, so a concurrent spec edit does not make it fail.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, KIND_NAMES, VERSION } from '../../pkg/api/v1/index.js';
import type { PolicyRef } from '../../pkg/policy/index.js';
import type { PolicyStatus } from '../desired-status.js';

const FIELD_MANAGER = 'imprimatur';

export function makeStatusWriter(customObjects: CustomObjectsApi) {
  const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return async (ref: PolicyRef, status: PolicyStatus): Promise<void> => {
    const plural = KIND_NAMES[ref.kind].plural;
    const body = { status };
    if (ref.kind === 'ClusterPolicy') {
      await customObjects.patchClusterCustomObjectStatus(
        { group: GROUP, version: VERSION, plural, name: ref.name, body, fieldManager: FIELD_MANAGER },
        options,
      );
    } else {
      await customObjects.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace: ref.namespace, plural, name: ref.name, body, fieldManager: FIELD_MANAGER },
        options,
      );
    }
  };
}
