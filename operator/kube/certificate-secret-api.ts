// The serving certificate Secret's calls, through client-node's CoreV1Api, as ServingCertificateController wants
// them. Kept apart so that the controller's tests give it a fake.
import { CoreV1Api, Watch, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError } from './api-error.js';
import type { CertificateSecretApi } from './serving-certificate-controller.js';

export function toCertificateSecretApi(kubeConfig: KubeConfig): CertificateSecretApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
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
    watch: new Watch(kubeConfig),
  };
}
