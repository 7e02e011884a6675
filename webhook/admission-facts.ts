// What the rules' match and exclude blocks are judged against, read once per admission from the request and the
// object: the resource's group, version and kind, the subresource, the operation, the object's name (its
// generateName on a CREATE that has no name yet, as Kyverno reads it), namespace, labels and annotations, and who
// asked. The object is the requester's: only string values are taken from its label and annotation maps.
import type { AdmissionFacts } from '../pkg/policy/index.js';
import type { AdmissionRequest } from './admission-review.js';

/**
 * `namespaceLabels` are the request's namespace's labels, from the Namespace informer; undefined when they are not
 * known (cluster-scoped requests, a namespace not seen yet).
 */
export function toAdmissionFacts(
  request: AdmissionRequest,
  namespaceLabels?: Readonly<Record<string, string>>,
  userRoles: { readonly roles: readonly string[]; readonly clusterRoles: readonly string[] } = {
    roles: [],
    clusterRoles: [],
  },
): AdmissionFacts {
  const metadata = field(request.object, 'metadata');
  const name = request.name || stringOf(field(metadata, 'name')) || stringOf(field(metadata, 'generateName'));
  return {
    group: request.kind.group,
    version: request.kind.version,
    kind: request.kind.kind,
    subResource: request.subResource ?? '',
    operation: request.operation,
    name,
    namespace: request.namespace ?? '',
    labels: stringMap(field(metadata, 'labels')),
    annotations: stringMap(field(metadata, 'annotations')),
    ...(namespaceLabels && request.namespace ? { namespaceLabels } : {}),
    userInfo: request.userInfo,
    // Resolved from RoleBindings and ClusterRoleBindings by the caller, when a rule needs them.
    roles: userRoles.roles,
    clusterRoles: userRoles.clusterRoles,
  };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function stringMap(value: unknown): Readonly<Record<string, string>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
