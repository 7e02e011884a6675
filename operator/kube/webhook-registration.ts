// Applies the webhook configurations with server-side apply: idempotent, and it owns only its own fields. The
// ValidatingWebhookConfiguration is deleted instead when no policy needs it.
import { KubeApiError, toApiError } from './api-error.js';
import type { V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { CONTENT_TYPE, type AdmissionApi } from '../../pkg/kube/index.js';

export function makeWebhookRegistrar(api: Pick<AdmissionApi, 'patchMutatingWebhookConfiguration'>) {
  const options = { contentType: CONTENT_TYPE.apply };
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
export function makeValidatingWebhookRegistrar(
  api: Pick<AdmissionApi, 'patchValidatingWebhookConfiguration' | 'deleteValidatingWebhookConfiguration'>,
) {
  const options = { contentType: CONTENT_TYPE.apply };
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
