// Applies the MutatingWebhookConfiguration with server-side apply: idempotent, and it owns only its own fields.
import { PatchStrategy, setHeaderOptions, type AdmissionregistrationV1Api, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';

export function makeWebhookRegistrar(api: AdmissionregistrationV1Api) {
  const options = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  return async (config: V1MutatingWebhookConfiguration): Promise<void> => {
    await api.patchMutatingWebhookConfiguration(
      { name: config.metadata!.name!, body: config, fieldManager: 'imprimatur', force: true },
      options,
    );
  };
}
