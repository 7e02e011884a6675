// Which admission requests a rule applies to: its match and exclude blocks, compiled once when the policy compiles
// and checked per request as Kyverno 1.19 checks them (pkg/engine/utils/match.go MatchesResourceDescription and
// doesResourceMatchConditionBlock). The rule applies when match selects the request and exclude does not.
//
// - A block is either `any` filters (one must hold), `all` filters (every one must), or the legacy form (resources,
//   subjects, roles and clusterRoles directly under the block) read as one filter, in that order of precedence.
//   Kyverno refuses any with all, and any/all with legacy resources; legacy user info beside any/all is ignored.
// - Within a filter every field given must hold; a list holds when one of its entries does. A filter with nothing in
//   it holds for nothing, so an empty exclude filter excludes nothing.
// - exclude uses the same shapes: exclude.any excludes when one filter holds, exclude.all when all of them do.
// - A namespaced Policy applies only in its own namespace; the caller checks that, as the rule cache knows the policy.
import type { FieldError, RuleType } from '../api/v1/index.js';
import { compileImagePattern, type ImagePattern } from '../imageref/index.js';
import { err, ok, type Result } from '../result/index.js';
import {
  checkBlock,
  checkMatchExcludeConflict,
  isEmptyFilter,
  legacyFilter,
  some,
  type Block,
  type Filter,
} from './resource-filter-checks.js';
import { compileKinds, parseKindSelector } from './resource-filter-kinds.js';
import { compileLabelSelector, type Labels } from './resource-filter-labels.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/**
 * What a match or exclude block looks at in an admission request, gathered once per request by the webhook. The
 * object is request.object, or request.oldObject for a DELETE (Kyverno matches the old object when there is no new
 * one).
 */
export interface AdmissionFacts {
  /**
   * Group, version and kind of the request's resource (request.resource mapped to its kind), not request.kind: for
   * pods/exec this is Pod, not PodExecOptions, as Kyverno's top-level GVK.
   */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** request.subResource: '' for the resource itself, e.g. 'ephemeralcontainers' or 'status'. */
  readonly subResource: string;
  readonly operation: AdmissionOperation;
  /**
   * The object's metadata.name, or its metadata.generateName when the name is empty: a CREATE with only generateName
   * is matched on the prefix (`web-*` selects generateName `web-`), as Kyverno does. The mutating webhook, where
   * images are verified, sees such an object before the API server has made up its name.
   */
  readonly name: string;
  /** request.namespace; '' for a cluster-scoped resource. For a Namespace, its own name is used instead. */
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /**
   * The labels of the Namespace named by `namespace`; undefined for cluster-scoped requests or when the namespace is
   * unknown. Read only when `needsNamespaceLabels`. See namespaceSelectorCheck for what unknown means.
   */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** request.userInfo. */
  readonly userInfo: { readonly username: string; readonly groups: readonly string[] };
  /**
   * "<ns>:<role>" and cluster role names bound to the user, resolved by the caller from informers as Kyverno's
   * userinfo.GetRoleRef does: RoleBindings naming the user give "<binding ns>:<Role>", or their ClusterRole (in any
   * namespace: Kyverno does not compare it with the request's); ClusterRoleBindings give ClusterRoles. Read only when
   * `needsRoles` (webhook/user-roles.ts).
   */
  readonly roles: readonly string[];
  readonly clusterRoles: readonly string[];
}

/** A rule's match and exclude blocks, compiled. */
export interface CompiledResourceFilter {
  /** Whether the rule applies to the request: match selects it and exclude does not. Pure; parses nothing. */
  matches(facts: AdmissionFacts): boolean;
  /**
   * The kinds the match block names, without group, version or subresource (apps/v1/Deployment and
   * Deployment/scale are Deployment), for the webhook configuration. An entry with `*` or `?` is a pattern: `*`
   * is every kind.
   */
  kinds(): ReadonlySet<string>;
  /** Some filter in use checks subjects, roles or clusterRoles. */
  readonly needsUserInfo: boolean;
  /** Some filter in use checks roles or clusterRoles: facts.roles and facts.clusterRoles must be resolved. */
  readonly needsRoles: boolean;
  /** Some filter in use has a namespaceSelector: facts.namespaceLabels must be looked up for namespaced requests. */
  readonly needsNamespaceLabels: boolean;
}

/**
 * Compiles a rule's match and exclude blocks; `field` is the rule's, e.g. spec.rules[0]. Fails with every problem
 * found: Kyverno's own refusals of these blocks, and label selectors that do not parse.
 */
export function compileResourceFilters(
  match: RuleType['match'],
  exclude: RuleType['exclude'] | undefined,
  field: string,
): Result<CompiledResourceFilter, FieldError[]> {
  const errors: FieldError[] = [
    ...checkBlock(match, `${field}.match`, 'match'),
    ...(exclude ? checkBlock(exclude, `${field}.exclude`, 'exclude') : []),
    ...checkMatchExcludeConflict(match, exclude, field),
  ];
  const matchBlock = inUse(match, `${field}.match`);
  const excludeBlock = exclude ? inUse(exclude, `${field}.exclude`) : NO_FILTERS;
  const selects = compileBlock(matchBlock, true, errors);
  const excludes = compileBlock(excludeBlock, false, errors);
  if (errors.length > 0) return err(errors);

  const kinds: ReadonlySet<string> = new Set(
    matchBlock.filters.flatMap(([f]) => f.resources?.kinds ?? []).map((k) => parseKindSelector(k).kind),
  );
  const used = [...matchBlock.filters, ...excludeBlock.filters].map(([f]) => f);
  const needsRoles = used.some((f) => some(f.roles) || some(f.clusterRoles));
  return ok({
    matches: (facts) => selects(facts) && !excludes(facts),
    kinds: () => kinds,
    needsRoles,
    needsUserInfo: needsRoles || used.some((f) => some(f.subjects)),
    needsNamespaceLabels: used.some((f) => f.resources?.namespaceSelector !== undefined),
  });
}

type Check = (facts: AdmissionFacts) => boolean;

/** The filters of a block Kyverno reads, with their fields, and whether all of them must hold or one. */
interface BlockInUse {
  readonly every: boolean;
  readonly filters: readonly [Filter, string][];
}

/** No exclude block: no filter, so nothing is excluded. */
const NO_FILTERS: BlockInUse = { every: false, filters: [] };

/** any (one must hold), else all (every one must), else the legacy form as one filter. */
function inUse(block: Block, at: string): BlockInUse {
  if (some(block.any)) return { every: false, filters: block.any.map((f, i) => [f, `${at}.any[${i}]`]) };
  if (some(block.all)) return { every: true, filters: block.all.map((f, i) => [f, `${at}.all[${i}]`]) };
  return { every: false, filters: [[legacyFilter(block), at]] };
}

function compileBlock(block: BlockInUse, selecting: boolean, errors: FieldError[]): Check {
  const checks = block.filters.map(([f, at]) => compileFilter(f, at, selecting, errors));
  return block.every ? (facts) => checks.every((c) => c(facts)) : (facts) => checks.some((c) => c(facts));
}

/**
 * One filter: every field given must hold. `selecting` is true in match and false in exclude, and decides what an
 * unknown namespace does to a namespaceSelector (see namespaceSelectorCheck).
 */
function compileFilter(filter: Filter, at: string, selecting: boolean, errors: FieldError[]): Check {
  if (isEmptyFilter(filter)) return () => false;
  const d = filter.resources ?? {};
  const checks: Check[] = [];
  if (some(d.operations)) {
    const operations = new Set<string>(d.operations);
    checks.push((facts) => operations.has(facts.operation));
  }
  if (some(d.kinds)) checks.push(compileKinds(d.kinds));
  // Both name and names may not be given (Kyverno refuses it); each would have to hold.
  if ((d.name ?? '') !== '') checks.push(anyPattern([d.name!], (facts) => facts.name));
  if (some(d.names)) checks.push(anyPattern(d.names, (facts) => facts.name));
  if (some(d.namespaces)) {
    checks.push(anyPattern(d.namespaces, (facts) => (facts.kind === 'Namespace' ? facts.name : facts.namespace)));
  }
  if (d.annotations !== undefined && Object.keys(d.annotations).length > 0) {
    checks.push(annotationsCheck(d.annotations));
  }
  if (d.selector !== undefined) {
    const compiled = compileLabelSelector(d.selector, `${at}.resources.selector`);
    if (compiled.ok) checks.push((facts) => compiled.value.matches(facts.labels));
    else errors.push(...compiled.error);
  }
  if (d.namespaceSelector !== undefined) {
    const compiled = compileLabelSelector(d.namespaceSelector, `${at}.resources.namespaceSelector`);
    if (compiled.ok) checks.push(namespaceSelectorCheck(compiled.value, selecting));
    else errors.push(...compiled.error);
  }
  if (some(filter.subjects)) {
    const subjects = filter.subjects.map(compileSubject);
    checks.push((facts) => subjects.some((s) => s(facts.userInfo)));
  }
  if (some(filter.roles)) checks.push(anyOf(filter.roles, (facts) => facts.roles));
  if (some(filter.clusterRoles)) checks.push(anyOf(filter.clusterRoles, (facts) => facts.clusterRoles));
  return (facts) => {
    for (const check of checks) if (!check(facts)) return false;
    return true;
  };
}

/** Names and namespaces: Kyverno wildcards, one pattern must match. */
function anyPattern(sources: readonly string[], value: (facts: AdmissionFacts) => string): Check {
  const patterns = sources.map(compileImagePattern);
  return (facts) => {
    const v = value(facts);
    return patterns.some((p) => p.matches(v));
  };
}

/** Roles and cluster roles are compared exactly, with no wildcards (Kyverno's SliceContains). */
function anyOf(wanted: readonly string[], have: (facts: AdmissionFacts) => readonly string[]): Check {
  const set = new Set(wanted);
  return (facts) => have(facts).some((r) => set.has(r));
}

// Every annotation given must be matched by one of the resource's, key and value both with wildcards
// (pkg/utils/match/annotations.go). A key without wildcards can only match itself, so it is looked up.
function annotationsCheck(wanted: Readonly<Record<string, string>>): Check {
  const pairs = Object.entries(wanted).map(([k, v]): [string, ImagePattern, ImagePattern] => [
    k,
    compileImagePattern(k),
    compileImagePattern(v),
  ]);
  return (facts) => {
    const annotations = facts.annotations;
    return pairs.every(([source, key, value]) =>
      source.includes('*') || source.includes('?')
        ? Object.entries(annotations).some(([k, v]) => key.matches(k) && value.matches(v))
        : Object.hasOwn(annotations, source) && value.matches(annotations[source]!),
    );
  };
}

const NO_LABELS: Labels = Object.freeze({});

/**
 * A namespaceSelector, as Kyverno 1.19 checks it:
 * - a Namespace itself never matches one ("namespace selector is not applicable for namespace resource");
 * - a cluster-scoped resource is checked against no labels, as Kyverno does (it looks nothing up without a
 *   namespace), so `DoesNotExist` and `NotIn` hold and `matchLabels` does not;
 * - when the namespace is unknown (not in the informer yet, or the lookup failed), the rule is made to apply: the
 *   filter holds in match and does not in exclude. Kyverno's validating webhook answers such a request with an error
 *   (fails closed) while its mutating webhook, where images are verified, silently skips the policy; verifying the
 *   images is the side that cannot let an unsigned image in.
 */
function namespaceSelectorCheck(selector: { matches(labels: Labels): boolean }, selecting: boolean): Check {
  return (facts) => {
    if (facts.kind === 'Namespace') return false;
    if (facts.namespace === '') return selector.matches(NO_LABELS);
    if (facts.namespaceLabels === undefined) return selecting;
    return selector.matches(facts.namespaceLabels);
  };
}

type Subject = NonNullable<Filter['subjects']>[number];

// pkg/utils/match/subjects.go: names are wildcards; a ServiceAccount is matched through its username.
function compileSubject(subject: Subject): (user: AdmissionFacts['userInfo']) => boolean {
  switch (subject.kind) {
    case 'ServiceAccount': {
      const p = compileImagePattern(`system:serviceaccount:${subject.namespace ?? ''}:${subject.name}`);
      return (user) => p.matches(user.username);
    }
    case 'Group': {
      const p = compileImagePattern(subject.name);
      return (user) => user.groups.some((g) => p.matches(g));
    }
    case 'User': {
      const p = compileImagePattern(subject.name);
      return (user) => p.matches(user.username);
    }
    default:
      // Refused when the policy compiles; never matches, as in Kyverno.
      return () => false;
  }
}
