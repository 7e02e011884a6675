// The roles and cluster roles bound to a requesting user, for the `roles` and `clusterRoles` of match and exclude
// (AdmissionFacts.roles and .clusterRoles), as Kyverno's pkg/userinfo GetRoleRef resolves them:
//
// - A binding names the user when one of its subjects does: a User by the username, a Group by one of the groups, a
//   ServiceAccount when the username is system:serviceaccount:<namespace>:<name>, the namespace being the subject's,
//   else the RoleBinding's own (a ClusterRoleBinding's ServiceAccount subject without a namespace names no one).
//   Subjects of any other kind name no one.
// - A RoleBinding to a Role gives "<binding namespace>:<role>"; a RoleBinding to a ClusterRole gives the ClusterRole,
//   whatever the binding's namespace and the request's (Kyverno does not compare them); a ClusterRoleBinding gives
//   its ClusterRole. Any other roleRef gives nothing.
// - The result is de-duplicated and sorted.
//
// Bindings are looked up by subject, not scanned: a subject key ("user:<username>" or "group:<group>"; a
// ServiceAccount subject is keyed by the username it stands for) leads to the grants of the bindings naming it, so a
// request costs one lookup for the username and one per group.

/** The requesting user, as in an AdmissionRequest. */
export interface UserInfo {
  readonly username: string;
  readonly groups: readonly string[];
}

/** What a binding grants whoever it names: a Role, as "<namespace>:<role>", or a ClusterRole, by name. */
export interface Grant {
  readonly kind: 'Role' | 'ClusterRole';
  readonly name: string;
}

/** The grants of every binding naming a subject key (see userKey and groupKey). */
export interface GrantsBySubject {
  grants(subjectKey: string): Iterable<Grant>;
}

export interface SlimSubject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface SlimRoleRef {
  readonly kind: string;
  readonly name: string;
}

/** A binding as this module reads it; `namespace` is undefined for a ClusterRoleBinding. */
export interface SlimBinding {
  readonly namespace?: string;
  readonly roleRef: SlimRoleRef;
  readonly subjects: readonly SlimSubject[];
}

export interface UserRoles {
  readonly roles: string[];
  readonly clusterRoles: string[];
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export const userKey = (username: string): string => `user:${username}`;
export const groupKey = (group: string): string => `group:${group}`;

/** The key under which a user matching the subject looks it up, or undefined when the subject names no one. */
export function subjectKey(subject: SlimSubject, bindingNamespace: string | undefined): string | undefined {
  switch (subject.kind) {
    case 'User':
      return userKey(subject.name);
    case 'Group':
      return groupKey(subject.name);
    case 'ServiceAccount': {
      const namespace = subject.namespace || bindingNamespace;
      return namespace ? userKey(`${SERVICE_ACCOUNT_PREFIX}${namespace}:${subject.name}`) : undefined;
    }
    default:
      return undefined;
  }
}

/** The distinct subject keys of a binding's subjects. */
export function subjectKeys(binding: SlimBinding): string[] {
  const keys = new Set<string>();
  for (const subject of binding.subjects) {
    const key = subjectKey(subject, binding.namespace);
    if (key !== undefined) keys.add(key);
  }
  return [...keys];
}

/** What the binding grants, or undefined when its roleRef is neither a Role in a RoleBinding nor a ClusterRole. */
export function grantOf(binding: SlimBinding): Grant | undefined {
  const { kind, name } = binding.roleRef;
  if (kind === 'ClusterRole') return { kind, name };
  if (kind === 'Role' && binding.namespace) return { kind, name: `${binding.namespace}:${name}` };
  return undefined;
}

/** Indexes bindings by subject key, all at once (the RoleBindings store keeps such an index current instead). */
export function indexBindings(bindings: Iterable<SlimBinding>): GrantsBySubject {
  const index = new Map<string, Grant[]>();
  for (const binding of bindings) {
    const grant = grantOf(binding);
    if (!grant) continue;
    for (const key of subjectKeys(binding)) {
      const grants = index.get(key);
      if (grants) grants.push(grant);
      else index.set(key, [grant]);
    }
  }
  return { grants: (key) => index.get(key) ?? [] };
}

/** The roles ("<namespace>:<role>") and cluster roles bound to the user, de-duplicated and sorted. */
export function toUserRoles(userInfo: UserInfo, bindings: GrantsBySubject): UserRoles {
  const roles = new Set<string>();
  const clusterRoles = new Set<string>();
  const collect = (key: string) => {
    for (const grant of bindings.grants(key)) (grant.kind === 'Role' ? roles : clusterRoles).add(grant.name);
  };
  collect(userKey(userInfo.username));
  for (const group of new Set(userInfo.groups)) collect(groupKey(group));
  return { roles: [...roles].sort(), clusterRoles: [...clusterRoles].sort() };
}
