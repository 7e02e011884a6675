import {
  AdmissionApi,
  CoordinationApi,
  CoreApi,
  CustomObjectsApi,
  EventsApi,
  RbacApi,
  type Event,
  type Lease,
} from './kube-apis.js';
import { CONTENT_TYPE, type KubeClient, type KubeRequest } from './kube-client.js';

/** A KubeClient that records each json() request and answers with `answer`. */
function fakeClient(answer: unknown = { kind: 'Answer' }) {
  const requests: KubeRequest[] = [];
  const client = {
    json: async (req: KubeRequest) => {
      requests.push(req);
      return answer;
    },
  } as unknown as KubeClient;
  return { client, requests };
}

/** The one request `call` made, with the query's undefined entries dropped so that toEqual sees what is sent. */
async function requestOf(call: (client: KubeClient) => Promise<unknown>): Promise<KubeRequest> {
  const { client, requests } = fakeClient();
  await call(client);
  expect(requests).toHaveLength(1);
  const req = requests[0]!;
  if (!req.query) return req;
  const query = Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== undefined));
  return { ...req, query };
}

const secret = { metadata: { name: 'pull', namespace: 'team' }, type: 'kubernetes.io/dockerconfigjson' };
const lease: Lease = { metadata: { name: 'leader' }, spec: { holderIdentity: 'pod-1', renewTime: 'x' } };
const event = { metadata: { name: 'e1' }, eventTime: '2030-01-01T00:00:00.000000Z' } as Event;

describe('the API classes', () => {
  it('give the client’s answer as it is', async () => {
    const answer = { items: [{ metadata: { name: 'a' } }], metadata: { resourceVersion: '7' } };
    const { client } = fakeClient(answer);
    expect(await new CoreApi(client).listNamespace()).toBe(answer);
  });

  describe('lists', () => {
    it('map limit, _continue, the selectors and resourceVersion to the query', async () => {
      const req = await requestOf((c) =>
        new CoreApi(c).listSecretForAllNamespaces({
          limit: 500,
          _continue: 'next-page',
          fieldSelector: 'type=kubernetes.io/dockerconfigjson',
          labelSelector: 'app=x',
          resourceVersion: '42',
        }),
      );
      expect(req).toEqual({
        method: 'GET',
        path: '/api/v1/secrets',
        query: {
          limit: 500,
          continue: 'next-page',
          fieldSelector: 'type=kubernetes.io/dockerconfigjson',
          labelSelector: 'app=x',
          resourceVersion: '42',
        },
      });
      expect(req).not.toHaveProperty('contentType');
      expect(req).not.toHaveProperty('body');
    });

    const lists: { name: string; path: string; call: (c: KubeClient) => Promise<unknown> }[] = [
      {
        name: 'listSecretForAllNamespaces',
        path: '/api/v1/secrets',
        call: (c) => new CoreApi(c).listSecretForAllNamespaces(),
      },
      {
        name: 'listNamespacedSecret',
        path: '/api/v1/namespaces/team/secrets',
        call: (c) => new CoreApi(c).listNamespacedSecret({ namespace: 'team', limit: 5 }),
      },
      { name: 'listNamespace', path: '/api/v1/namespaces', call: (c) => new CoreApi(c).listNamespace({ limit: 5 }) },
      {
        name: 'listConfigMapForAllNamespaces',
        path: '/api/v1/configmaps',
        call: (c) => new CoreApi(c).listConfigMapForAllNamespaces(),
      },
      {
        name: 'listRoleBindingForAllNamespaces',
        path: '/apis/rbac.authorization.k8s.io/v1/rolebindings',
        call: (c) => new RbacApi(c).listRoleBindingForAllNamespaces({ limit: 5 }),
      },
      {
        name: 'listClusterRoleBinding',
        path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
        call: (c) => new RbacApi(c).listClusterRoleBinding(),
      },
      {
        name: 'listClusterCustomObject',
        path: '/apis/kyverno.io/v1/clusterpolicies',
        call: (c) =>
          new CustomObjectsApi(c).listClusterCustomObject({
            group: 'kyverno.io',
            version: 'v1',
            plural: 'clusterpolicies',
          }),
      },
      {
        name: 'listCustomObjectForAllNamespaces',
        path: '/apis/kyverno.io/v1/policies',
        call: (c) =>
          new CustomObjectsApi(c).listCustomObjectForAllNamespaces({
            group: 'kyverno.io',
            version: 'v1',
            resourcePlural: 'policies',
          }),
      },
    ];
    it.each(lists)('$name GETs $path', async ({ call, path }) => {
      const req = await requestOf(call);
      expect(req.method).toBe('GET');
      expect(req.path).toBe(path);
      expect(req).not.toHaveProperty('body');
      expect(req).not.toHaveProperty('contentType');
    });

    it('pass a page request on', async () => {
      const req = await requestOf((c) =>
        new CustomObjectsApi(c).listCustomObjectForAllNamespaces({
          group: 'kyverno.io',
          version: 'v1',
          resourcePlural: 'policies',
          limit: 10,
          _continue: 'c2',
        }),
      );
      expect(req.query).toEqual({ limit: 10, continue: 'c2' });
    });

    it('URL-encode the namespace', async () => {
      const req = await requestOf((c) => new CoreApi(c).listNamespacedSecret({ namespace: 'a/b c' }));
      expect(req.path).toBe('/api/v1/namespaces/a%2Fb%20c/secrets');
    });
  });

  describe('Secrets', () => {
    it('createNamespacedSecret POSTs the body as JSON', async () => {
      expect(
        await requestOf((c) => new CoreApi(c).createNamespacedSecret({ namespace: 'team', body: secret })),
      ).toEqual({
        method: 'POST',
        path: '/api/v1/namespaces/team/secrets',
        body: secret,
      });
    });

    it('replaceNamespacedSecret PUTs the body to the named Secret', async () => {
      expect(
        await requestOf((c) =>
          new CoreApi(c).replaceNamespacedSecret({ namespace: 'team', name: 'pull/x', body: secret }),
        ),
      ).toEqual({ method: 'PUT', path: '/api/v1/namespaces/team/secrets/pull%2Fx', body: secret });
    });
  });

  describe('custom object status', () => {
    const ref = { group: 'kyverno.io', version: 'v1', plural: 'clusterpolicies' };

    it('patchClusterCustomObjectStatus sends a merge patch to the status subresource by default', async () => {
      const body = { status: { ready: true } };
      const req = await requestOf((c) =>
        new CustomObjectsApi(c).patchClusterCustomObjectStatus({
          ...ref,
          name: 'p 1',
          body,
          fieldManager: 'imprimatur',
        }),
      );
      expect(req).toEqual({
        method: 'PATCH',
        path: '/apis/kyverno.io/v1/clusterpolicies/p%201/status',
        query: { fieldManager: 'imprimatur' },
        body,
        contentType: CONTENT_TYPE.mergePatch,
      });
    });

    it('patchClusterCustomObjectStatus sends the patch type the call gives, and its timeout and signal', async () => {
      const signal = new AbortController().signal;
      const req = await requestOf((c) =>
        new CustomObjectsApi(c).patchClusterCustomObjectStatus(
          { ...ref, name: 'p', body: {} },
          { contentType: CONTENT_TYPE.apply, timeoutMs: 5000, signal },
        ),
      );
      expect(req.contentType).toBe(CONTENT_TYPE.apply);
      expect(req.timeoutMs).toBe(5000);
      expect(req.signal).toBe(signal);
      expect(req.query).toEqual({});
    });

    it('patchNamespacedCustomObjectStatus patches the status in the namespace', async () => {
      const req = await requestOf((c) =>
        new CustomObjectsApi(c).patchNamespacedCustomObjectStatus(
          { group: 'kyverno.io', version: 'v1', plural: 'policies', namespace: 'te am', name: 'p/1', body: { s: 1 } },
          { contentType: CONTENT_TYPE.jsonPatch },
        ),
      );
      expect(req).toEqual({
        method: 'PATCH',
        path: '/apis/kyverno.io/v1/namespaces/te%20am/policies/p%2F1/status',
        query: {},
        body: { s: 1 },
        contentType: CONTENT_TYPE.jsonPatch,
      });
    });
  });

  describe('Events', () => {
    it('createNamespacedEvent POSTs to events.k8s.io, with the call’s timeout', async () => {
      expect(
        await requestOf((c) =>
          new EventsApi(c).createNamespacedEvent({ namespace: 'team', body: event }, { timeoutMs: 3000 }),
        ),
      ).toEqual({
        method: 'POST',
        path: '/apis/events.k8s.io/v1/namespaces/team/events',
        body: event,
        timeoutMs: 3000,
      });
    });

    it('createNamespacedEvent sends JSON when the call gives no options', async () => {
      const req = await requestOf((c) => new EventsApi(c).createNamespacedEvent({ namespace: 'team', body: event }));
      expect(req).not.toHaveProperty('contentType');
      expect(req).not.toHaveProperty('timeoutMs');
    });

    it('patchNamespacedEvent sends a merge patch to the named Event', async () => {
      expect(
        await requestOf((c) =>
          new EventsApi(c).patchNamespacedEvent({ namespace: 'team', name: 'e.1', body: { series: { count: 2 } } }),
        ),
      ).toEqual({
        method: 'PATCH',
        path: '/apis/events.k8s.io/v1/namespaces/team/events/e.1',
        body: { series: { count: 2 } },
        contentType: CONTENT_TYPE.mergePatch,
      });
    });
  });

  describe('Leases', () => {
    const LEASES = '/apis/coordination.k8s.io/v1/namespaces/imprimatur/leases';

    it('readNamespacedLease GETs the named Lease, with the call’s signal', async () => {
      const signal = new AbortController().signal;
      expect(
        await requestOf((c) =>
          new CoordinationApi(c).readNamespacedLease({ namespace: 'imprimatur', name: 'leader' }, { signal }),
        ),
      ).toEqual({ method: 'GET', path: `${LEASES}/leader`, signal });
    });

    it('createNamespacedLease POSTs the Lease', async () => {
      expect(
        await requestOf((c) => new CoordinationApi(c).createNamespacedLease({ namespace: 'imprimatur', body: lease })),
      ).toEqual({ method: 'POST', path: LEASES, body: lease });
    });

    it('replaceNamespacedLease PUTs the Lease, with the call’s timeout', async () => {
      expect(
        await requestOf((c) =>
          new CoordinationApi(c).replaceNamespacedLease(
            { namespace: 'imprimatur', name: 'leader', body: lease },
            { timeoutMs: 2000 },
          ),
        ),
      ).toEqual({ method: 'PUT', path: `${LEASES}/leader`, body: lease, timeoutMs: 2000 });
    });
  });

  describe('webhook configurations', () => {
    const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

    it.each<[string, (c: KubeClient) => Promise<unknown>, string]>([
      [
        'readMutatingWebhookConfiguration',
        (c) => new AdmissionApi(c).readMutatingWebhookConfiguration({ name: 'imprimatur' }),
        `${ADMISSION}/mutatingwebhookconfigurations/imprimatur`,
      ],
      [
        'readValidatingWebhookConfiguration',
        (c) => new AdmissionApi(c).readValidatingWebhookConfiguration({ name: 'imp rimatur' }),
        `${ADMISSION}/validatingwebhookconfigurations/imp%20rimatur`,
      ],
    ])('%s GETs the named configuration', async (_name, call, path) => {
      expect(await requestOf(call)).toEqual({ method: 'GET', path });
    });

    it.each<
      [
        string,
        (
          c: KubeClient,
          r: Parameters<AdmissionApi['patchMutatingWebhookConfiguration']>[0],
          o?: object,
        ) => Promise<unknown>,
        string,
      ]
    >([
      [
        'patchMutatingWebhookConfiguration',
        (c, r, o) => new AdmissionApi(c).patchMutatingWebhookConfiguration(r, o),
        `${ADMISSION}/mutatingwebhookconfigurations/imprimatur`,
      ],
      [
        'patchValidatingWebhookConfiguration',
        (c, r, o) => new AdmissionApi(c).patchValidatingWebhookConfiguration(r, o),
        `${ADMISSION}/validatingwebhookconfigurations/imprimatur`,
      ],
    ])('%s applies with the field manager and force', async (_name, call, path) => {
      const body = { webhooks: [] };
      expect(
        await requestOf((c) =>
          call(
            c,
            { name: 'imprimatur', body, fieldManager: 'imprimatur', force: true },
            { contentType: CONTENT_TYPE.apply },
          ),
        ),
      ).toEqual({
        method: 'PATCH',
        path,
        query: { fieldManager: 'imprimatur', force: true },
        body,
        contentType: CONTENT_TYPE.apply,
      });
      const merge = await requestOf((c) => call(c, { name: 'imprimatur', body }));
      expect(merge.contentType).toBe(CONTENT_TYPE.mergePatch);
      expect(merge.query).toEqual({});
    });

    it.each<[string, (c: KubeClient, body?: unknown) => Promise<unknown>, string]>([
      [
        'deleteMutatingWebhookConfiguration',
        (c, body) => new AdmissionApi(c).deleteMutatingWebhookConfiguration({ name: 'imprimatur', body }),
        `${ADMISSION}/mutatingwebhookconfigurations/imprimatur`,
      ],
      [
        'deleteValidatingWebhookConfiguration',
        (c, body) => new AdmissionApi(c).deleteValidatingWebhookConfiguration({ name: 'imprimatur', body }),
        `${ADMISSION}/validatingwebhookconfigurations/imprimatur`,
      ],
    ])('%s DELETEs the named configuration, with DeleteOptions when given', async (_name, call, path) => {
      expect(await requestOf((c) => call(c))).toEqual({ method: 'DELETE', path });
      expect(await requestOf((c) => call(c))).not.toHaveProperty('body');
      const options = { kind: 'DeleteOptions', propagationPolicy: 'Background' };
      expect(await requestOf((c) => call(c, options))).toEqual({ method: 'DELETE', path, body: options });
    });
  });
});
