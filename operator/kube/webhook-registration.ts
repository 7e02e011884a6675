// Applies the webhook configurations with server-side apply: idempotent, and it owns only its own fields. The
// ValidatingWebhookConfiguration is deleted instead when no policy needs it.
import { KubeApiError, toApiError } from './api-error.js';
import {
  PatchStrategy,
  setHeaderOptions,
  type AdmissionregistrationV1Api,
  type V1MutatingWebhookConfiguration,
  type V1ValidatingWebhookConfiguration,
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

/**
 * Applies `config` under `name`, or, when it is undefined, deletes the configuration of that name. Deleting one that
 * is not there is done, not an error. The delete is sent every time rather than remembered: a leader that took over
 * must remove what its predecessor left.
 */
export function makeValidatingWebhookRegistrar(api: AdmissionregistrationV1Api) {
  const options = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  return async (name: string, config: V1ValidatingWebhookConfiguration | undefined): Promise<void> => {
    if (config) {
      try {
        await api.patchValidatingWebhookConfiguration(
          { name, body: config, fieldManager: 'imprimatur', force: true },
          options,
        );
      } catch (e) {
        throw new KubeApiError(`apply ValidatingWebhookConfiguration ${name}`, e);
      }
      return;
    }
    try {
      await api.deleteValidatingWebhookConfiguration({ name });
    } catch (e) {
      if (toApiError(e).code === 404) return;
      throw new KubeApiError(`delete ValidatingWebhookConfiguration ${name}`, e);
    }
  };
}
