// Applies the MutatingWebhookConfiguration with server-side apply: idempotent, and it owns only its own fields.
import { KubeApiError } from './api-error.js';
import {
  PatchStrategy,
  setHeaderOptions,
  type AdmissionregistrationV1Api,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';

export function makeWebhookRegistrar(api: AdmissionregistrationV1Api) {
  const options = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  return async (config: V1MutatingWebhookConfiguration): Promise<void> => {
    const name = config.metadata!.name!;
    try {
      await api.patchMutatingWebhookConfiguration(
        { name, body: config, fieldManager: 'imprimatur', force: true },
        options,
      );
    } catch (e) {
      throw new KubeApiError(`apply MutatingWebhookConfiguration ${name}`, e);
    }
  };
}
