/** The API group and version Imprimatur serves: the same as Kyverno's, so existing manifests apply unchanged. */
export const GROUP = 'kyverno.io';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/**
 * The versions the CRDs serve, as Kyverno's do: v1, the storage version and the one the operator reads, and v2beta1,
 * a subset of it served from the same stored objects (no conversion).
 */
export const SERVED_VERSIONS = [VERSION, 'v2beta1'] as const;

/** The two policy kinds: cluster-wide and namespaced. */
export type PolicyKind = 'ClusterPolicy' | 'Policy';

export interface KindNames {
  readonly kind: PolicyKind;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Cluster' | 'Namespaced';
}

export const KIND_NAMES: Readonly<Record<PolicyKind, KindNames>> = {
  ClusterPolicy: {
    kind: 'ClusterPolicy',
    listKind: 'ClusterPolicyList',
    plural: 'clusterpolicies',
    singular: 'clusterpolicy',
    shortNames: ['cpol'],
    scope: 'Cluster',
  },
  Policy: {
    kind: 'Policy',
    listKind: 'PolicyList',
    plural: 'policies',
    singular: 'policy',
    shortNames: ['pol'],
    scope: 'Namespaced',
  },
};
