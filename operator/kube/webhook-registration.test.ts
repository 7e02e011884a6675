import type { V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { KubeStatusError, type AdmissionApi } from '../../pkg/kube/index.js';
import { makeValidatingWebhookRegistrar } from './webhook-registration.js';

const NAME = 'imprimatur-resource-validating-webhook-cfg';
const CONFIG: V1ValidatingWebhookConfiguration = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingWebhookConfiguration',
  metadata: { name: NAME },
  webhooks: [],
};

function apiException(code: number, reason: string, message: string): KubeStatusError {
  return new KubeStatusError('PATCH', '/apis', code, JSON.stringify({ kind: 'Status', reason, message, code }));
}

/** An API that records what it was asked, failing as told. */
function fakeApi(failures: { patch?: KubeStatusError; delete?: KubeStatusError } = {}) {
  const calls: { verb: string; name: string; body?: unknown; fieldManager?: string; force?: boolean }[] = [];
  const api = {
    patchValidatingWebhookConfiguration: async (request: {
      name: string;
      body: unknown;
      fieldManager?: string;
      force?: boolean;
    }) => {
      calls.push({ verb: 'apply', ...request });
      if (failures.patch) throw failures.patch;
      return request.body;
    },
    deleteValidatingWebhookConfiguration: async (request: { name: string }) => {
      calls.push({ verb: 'delete', name: request.name });
      if (failures.delete) throw failures.delete;
      return {};
    },
  };
  return { api: api as unknown as AdmissionApi, calls };
}

describe('makeValidatingWebhookRegistrar', () => {
  it('creates or updates the configuration with server-side apply, owning its fields by force', async () => {
    const { api, calls } = fakeApi();
    await makeValidatingWebhookRegistrar(api)(NAME, CONFIG);
    expect(calls).toEqual([{ verb: 'apply', name: NAME, body: CONFIG, fieldManager: 'imprimatur', force: true }]);
  });

  it('deletes the configuration when none is wanted', async () => {
    const { api, calls } = fakeApi();
    await makeValidatingWebhookRegistrar(api)(NAME, undefined);
    expect(calls).toEqual([{ verb: 'delete', name: NAME }]);
  });

  it('takes a configuration that is already gone as deleted', async () => {
    const { api } = fakeApi({
      delete: apiException(404, 'NotFound', `validatingwebhookconfigurations "${NAME}" not found`),
    });
    await expect(makeValidatingWebhookRegistrar(api)(NAME, undefined)).resolves.toBeUndefined();
  });

  it('fails with the API server’s words when it may not delete, so that the work queue retries', async () => {
    const { api } = fakeApi({ delete: apiException(403, 'Forbidden', 'cannot delete') });
    await expect(makeValidatingWebhookRegistrar(api)(NAME, undefined)).rejects.toThrow(
      `delete ValidatingWebhookConfiguration ${NAME}: cannot delete`,
    );
  });

  it('fails with the API server’s words when the apply is refused', async () => {
    const { api } = fakeApi({ patch: apiException(422, 'Invalid', 'webhooks[0].name: Invalid value') });
    await expect(makeValidatingWebhookRegistrar(api)(NAME, CONFIG)).rejects.toThrow(
      `apply ValidatingWebhookConfiguration ${NAME}: webhooks[0].name: Invalid value`,
    );
  });
});
