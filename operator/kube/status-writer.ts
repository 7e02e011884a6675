// Writes a policy's status through the status subresource with a JSON merge patch: only status changes, and
// the patch carries no resourceVersion, so a concurrent spec edit does not make it fail.
import { CONTENT_TYPE, type CustomObjectsApi } from '../../pkg/kube/index.js';
import { GROUP, KIND_NAMES, VERSION } from '../../pkg/api/v1/index.js';
import type { PolicyRef } from '../../pkg/policy/index.js';
import type { PolicyStatus } from '../desired-status.js';
import { KubeApiError } from './api-error.js';

const FIELD_MANAGER = 'imprimatur';

export function makeStatusWriter(
  customObjects: Pick<CustomObjectsApi, 'patchClusterCustomObjectStatus' | 'patchNamespacedCustomObjectStatus'>,
) {
  const options = { contentType: CONTENT_TYPE.mergePatch };
  return async (ref: PolicyRef, status: PolicyStatus): Promise<void> => {
    const common = { group: GROUP, version: VERSION, plural: KIND_NAMES[ref.kind].plural, name: ref.name };
    const request = { ...common, body: { status }, fieldManager: FIELD_MANAGER };
    try {
      if (ref.kind === 'ClusterPolicy') await customObjects.patchClusterCustomObjectStatus(request, options);
      else await customObjects.patchNamespacedCustomObjectStatus({ ...request, namespace: ref.namespace }, options);
    } catch (e) {
      throw new KubeApiError(`patch status of ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`, e);
    }
  };
}
