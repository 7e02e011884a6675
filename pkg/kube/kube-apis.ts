// The API calls the operator and the webhook make, by resource, over KubeClient. Method names and parameters are
// client-node's (listNamespacedSecret({ namespace, limit, _continue })), so that the adapters read as before and
// their tests' fakes fit; answers are the API server's JSON as it is (dates stay strings), typed with client-node's
// model types, which are types only.
import type {
  EventsV1Event,
  KubernetesObject,
  V1ClusterRoleBindingList,
  V1ConfigMapList,
  EventsV1EventSeries,
  V1Lease,
  V1LeaseSpec,
  V1MutatingWebhookConfiguration,
  V1NamespaceList,
  V1RoleBindingList,
  V1Secret,
  V1SecretList,
  V1Status,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { CONTENT_TYPE, type KubeClient, type Query } from './kube-client.js';

/** A Lease as it travels: its MicroTime fields are strings (toMicroTime), which client-node's type calls Dates. */
export type Lease = Omit<V1Lease, 'spec'> & {
  spec?: Omit<V1LeaseSpec, 'acquireTime' | 'renewTime'> & { acquireTime?: string; renewTime?: string };
};

/** An events.k8s.io/v1 Event as it travels, with its MicroTime fields as strings. */
export type Event = Omit<EventsV1Event, 'eventTime' | 'series'> & {
  eventTime: string;
  series?: Omit<EventsV1EventSeries, 'lastObservedTime'> & { lastObservedTime: string };
};

/** What a call may add: the patch type, its own timeout, a signal. */
export interface CallOptions {
  readonly contentType?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface ListRequest {
  readonly limit?: number;
  readonly _continue?: string;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
  readonly resourceVersion?: string;
}

const listQuery = (r: ListRequest): Query => ({
  limit: r.limit,
  continue: r._continue,
  fieldSelector: r.fieldSelector,
  labelSelector: r.labelSelector,
  resourceVersion: r.resourceVersion,
});

const seg = (s: string) => encodeURIComponent(s);

function call<T>(
  client: KubeClient,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  extra: {
    query?: Query;
    body?: unknown;
    options?: CallOptions;
  },
): Promise<T> {
  const o = extra.options ?? {};
  return client.json<T>({
    method,
    path,
    ...(extra.query ? { query: extra.query } : {}),
    ...(extra.body !== undefined ? { body: extra.body } : {}),
    ...(o.contentType ? { contentType: o.contentType } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
}

export class CoreApi {
  constructor(private readonly client: KubeClient) {}

  listSecretForAllNamespaces(r: ListRequest = {}): Promise<V1SecretList> {
    return call(this.client, 'GET', '/api/v1/secrets', { query: listQuery(r) });
  }

  listNamespacedSecret(r: ListRequest & { namespace: string }): Promise<V1SecretList> {
    return call(this.client, 'GET', `/api/v1/namespaces/${seg(r.namespace)}/secrets`, { query: listQuery(r) });
  }

  createNamespacedSecret(r: { namespace: string; body: V1Secret }): Promise<V1Secret> {
    return call(this.client, 'POST', `/api/v1/namespaces/${seg(r.namespace)}/secrets`, { body: r.body });
  }

  replaceNamespacedSecret(r: { namespace: string; name: string; body: V1Secret }): Promise<V1Secret> {
    const path = `/api/v1/namespaces/${seg(r.namespace)}/secrets/${seg(r.name)}`;
    return call(this.client, 'PUT', path, { body: r.body });
  }

  listNamespace(r: ListRequest = {}): Promise<V1NamespaceList> {
    return call(this.client, 'GET', '/api/v1/namespaces', { query: listQuery(r) });
  }

  listConfigMapForAllNamespaces(r: ListRequest = {}): Promise<V1ConfigMapList> {
    return call(this.client, 'GET', '/api/v1/configmaps', { query: listQuery(r) });
  }
}

export class RbacApi {
  constructor(private readonly client: KubeClient) {}

  listRoleBindingForAllNamespaces(r: ListRequest = {}): Promise<V1RoleBindingList> {
    return call(this.client, 'GET', '/apis/rbac.authorization.k8s.io/v1/rolebindings', { query: listQuery(r) });
  }

  listClusterRoleBinding(r: ListRequest = {}): Promise<V1ClusterRoleBindingList> {
    return call(this.client, 'GET', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { query: listQuery(r) });
  }
}

interface CustomObjectRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

export class CustomObjectsApi {
  constructor(private readonly client: KubeClient) {}

  listClusterCustomObject(r: CustomObjectRef & ListRequest): Promise<unknown> {
    return call(this.client, 'GET', `/apis/${r.group}/${r.version}/${r.plural}`, { query: listQuery(r) });
  }

  /** Every namespace's objects of a namespaced kind (client-node names the plural `resourcePlural` here). */
  listCustomObjectForAllNamespaces(
    r: { group: string; version: string; resourcePlural: string } & ListRequest,
  ): Promise<unknown> {
    return call(this.client, 'GET', `/apis/${r.group}/${r.version}/${r.resourcePlural}`, { query: listQuery(r) });
  }

  patchClusterCustomObjectStatus(
    r: CustomObjectRef & { name: string; body: unknown; fieldManager?: string },
    options?: CallOptions,
  ): Promise<unknown> {
    const path = `/apis/${r.group}/${r.version}/${r.plural}/${seg(r.name)}/status`;
    return call(this.client, 'PATCH', path, {
      query: { fieldManager: r.fieldManager },
      body: r.body,
      options: patch(options),
    });
  }

  patchNamespacedCustomObjectStatus(
    r: CustomObjectRef & { namespace: string; name: string; body: unknown; fieldManager?: string },
    options?: CallOptions,
  ): Promise<unknown> {
    const path = `/apis/${r.group}/${r.version}/namespaces/${seg(r.namespace)}/${r.plural}/${seg(r.name)}/status`;
    return call(this.client, 'PATCH', path, {
      query: { fieldManager: r.fieldManager },
      body: r.body,
      options: patch(options),
    });
  }
}

export class EventsApi {
  constructor(private readonly client: KubeClient) {}

  createNamespacedEvent(r: { namespace: string; body: Event }, options?: CallOptions): Promise<Event> {
    const path = `/apis/events.k8s.io/v1/namespaces/${seg(r.namespace)}/events`;
    return call(this.client, 'POST', path, { body: r.body, ...(options ? { options } : {}) });
  }

  patchNamespacedEvent(r: { namespace: string; name: string; body: unknown }, options?: CallOptions): Promise<Event> {
    const path = `/apis/events.k8s.io/v1/namespaces/${seg(r.namespace)}/events/${seg(r.name)}`;
    return call(this.client, 'PATCH', path, { body: r.body, options: patch(options) });
  }
}

export class CoordinationApi {
  constructor(private readonly client: KubeClient) {}

  readNamespacedLease(r: { namespace: string; name: string }, options?: CallOptions): Promise<Lease> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${seg(r.namespace)}/leases/${seg(r.name)}`;
    return call(this.client, 'GET', path, { ...(options ? { options } : {}) });
  }

  createNamespacedLease(r: { namespace: string; body: Lease }, options?: CallOptions): Promise<Lease> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${seg(r.namespace)}/leases`;
    return call(this.client, 'POST', path, { body: r.body, ...(options ? { options } : {}) });
  }

  replaceNamespacedLease(r: { namespace: string; name: string; body: Lease }, options?: CallOptions): Promise<Lease> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${seg(r.namespace)}/leases/${seg(r.name)}`;
    return call(this.client, 'PUT', path, { body: r.body, ...(options ? { options } : {}) });
  }
}

const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

export class AdmissionApi {
  constructor(private readonly client: KubeClient) {}

  readMutatingWebhookConfiguration(r: { name: string }): Promise<V1MutatingWebhookConfiguration> {
    return call(this.client, 'GET', `${ADMISSION}/mutatingwebhookconfigurations/${seg(r.name)}`, {});
  }

  readValidatingWebhookConfiguration(r: { name: string }): Promise<V1ValidatingWebhookConfiguration> {
    return call(this.client, 'GET', `${ADMISSION}/validatingwebhookconfigurations/${seg(r.name)}`, {});
  }

  patchMutatingWebhookConfiguration(
    r: { name: string; body: unknown; fieldManager?: string; force?: boolean },
    options?: CallOptions,
  ): Promise<V1MutatingWebhookConfiguration> {
    const path = `${ADMISSION}/mutatingwebhookconfigurations/${seg(r.name)}`;
    return call(this.client, 'PATCH', path, {
      query: { fieldManager: r.fieldManager, force: r.force },
      body: r.body,
      options: patch(options),
    });
  }

  patchValidatingWebhookConfiguration(
    r: { name: string; body: unknown; fieldManager?: string; force?: boolean },
    options?: CallOptions,
  ): Promise<V1ValidatingWebhookConfiguration> {
    const path = `${ADMISSION}/validatingwebhookconfigurations/${seg(r.name)}`;
    return call(this.client, 'PATCH', path, {
      query: { fieldManager: r.fieldManager, force: r.force },
      body: r.body,
      options: patch(options),
    });
  }

  deleteMutatingWebhookConfiguration(r: { name: string; body?: unknown }): Promise<V1Status> {
    return call(this.client, 'DELETE', `${ADMISSION}/mutatingwebhookconfigurations/${seg(r.name)}`, {
      ...(r.body !== undefined ? { body: r.body } : {}),
    });
  }

  deleteValidatingWebhookConfiguration(r: { name: string; body?: unknown }): Promise<V1Status> {
    return call(this.client, 'DELETE', `${ADMISSION}/validatingwebhookconfigurations/${seg(r.name)}`, {
      ...(r.body !== undefined ? { body: r.body } : {}),
    });
  }
}

/** A patch is a merge patch unless the call says which. */
function patch(options: CallOptions | undefined): CallOptions {
  return { contentType: CONTENT_TYPE.mergePatch, ...options };
}

/** The KubernetesObject type, for callers that take any object. */
export type { KubernetesObject };
