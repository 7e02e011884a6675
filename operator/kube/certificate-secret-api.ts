// The serving certificate Secret's calls, through the API client (pkg/kube), as ServingCertificateController wants
// them. Kept apart so that the controller's tests give it a fake.
import { CoreApi, type KubeClient } from '../../pkg/kube/index.js';
import { KubeApiError } from './api-error.js';
import type { CertificateSecretApi } from './serving-certificate-controller.js';

export function toCertificateSecretApi(kube: KubeClient): CertificateSecretApi {
  const core = new CoreApi(kube);
  return {
    listSecrets: (request) => core.listNamespacedSecret(request),
    createSecret: async (namespace, body) => {
      try {
        return await core.createNamespacedSecret({ namespace, body });
      } catch (e) {
        throw new KubeApiError(`create Secret ${namespace}/${body.metadata?.name ?? ''}`, e);
      }
    },
    replaceSecret: async (namespace, name, body) => {
      try {
        return await core.replaceNamespacedSecret({ namespace, name, body });
      } catch (e) {
        throw new KubeApiError(`replace Secret ${namespace}/${name}`, e);
      }
    },
    watch: kube,
  };
}
