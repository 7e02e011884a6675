// Which verifyImages rules an admission falls under, and with which failure action: what the /mutate handler
// (verify-images.ts) and the /validate handler (validate.ts) both need before they look at a single image, judged in
// one place so that the two webhooks never disagree about whether a rule applies.
//
// A rule applies when its policy may see the request (a namespaced Policy only in its own namespace), the rule names
// the request's kind and has verifyImages entries, and its compiled match and exclude select the request. A rule
// that names roles applies whatever they say while the role bindings are not known, so that images are checked more,
// never less.
import type { AdmissionFacts, CompiledPolicy, CompiledRule, FailureAction } from '../pkg/policy/index.js';
import { toAdmissionFacts } from './admission-facts.js';
import type { AdmissionRequest } from './admission-review.js';
import type { VerifyImagesDeps } from './verify-images.js';

/** What the applicability of match and exclude reads beyond the request: namespace labels and role bindings. */
export type ApplicabilityDeps = Pick<VerifyImagesDeps, 'namespaceLabels' | 'userRoles'>;

/** One rule that applies to the admission, with its policy and its failure action for the request's namespace. */
export interface ApplicableRule {
  readonly policy: CompiledPolicy;
  readonly rule: CompiledRule;
  readonly failureAction: FailureAction;
}

/**
 * The rules of `policies` that apply to `request` and that `select` keeps (every verifyImages rule by default), in
 * policy order then rule order.
 */
export function findApplicableRules(
  request: AdmissionRequest,
  policies: readonly CompiledPolicy[],
  deps: ApplicabilityDeps,
  select: (rule: CompiledRule) => boolean = () => true,
): ApplicableRule[] {
  const kind = request.kind.kind;
  const candidates = policies.flatMap((policy) =>
    isVisibleTo(policy, request)
      ? policy.rules
          .filter((rule) => rule.verifyImages.length > 0 && rule.kinds.has(kind) && select(rule))
          .map((rule) => ({ policy, rule }))
      : [],
  );
  if (candidates.length === 0) return [];
  // Roles are resolved only when some rule asks about them: most policies never do.
  const needsRoles = candidates.some(({ rule }) => rule.filter?.needsRoles);
  const roles = needsRoles ? deps.userRoles?.(request.userInfo) : undefined;
  const namespace = request.namespace;
  const facts = toAdmissionFacts(request, namespace ? deps.namespaceLabels?.(namespace) : undefined, roles);
  return candidates
    .filter(({ rule }) => selects(rule, facts, roles !== undefined))
    .map(({ policy, rule }) => ({ policy, rule, failureAction: toFailureAction(policy, rule, facts) }));
}

/** A namespaced Policy sees only requests in its own namespace; a ClusterPolicy sees them all. */
function isVisibleTo(policy: CompiledPolicy, request: AdmissionRequest): boolean {
  return policy.ref.kind !== 'Policy' || policy.ref.namespace === request.namespace;
}

function selects(rule: CompiledRule, facts: AdmissionFacts, rolesKnown: boolean): boolean {
  if (!rule.filter) return true;
  if (rule.filter.needsRoles && !rolesKnown) return true;
  return rule.filter.matches(facts);
}

/**
 * Kyverno's order (kyverno-verifyimages.md §4.1): an entry's own Enforce wins, else the first entry's own action,
 * else the first override that applies to the request's namespace (by its patterns and its namespaceSelector, both
 * when both are given), else the policy's. When the namespace's labels are not known, an override by selector
 * applies only if it would enforce: not knowing never makes a rule more lenient.
 */
function toFailureAction(policy: CompiledPolicy, rule: CompiledRule, facts: AdmissionFacts): FailureAction {
  const own = rule.verifyImages.filter((e) => e.failureActionIsOwn);
  if (own.some((e) => e.failureAction === 'Enforce')) return 'Enforce';
  if (own.length > 0) return own[0]!.failureAction;
  const labels = facts.namespaceLabels;
  const override = policy.failureActionOverrides.find((o) => {
    if (o.namespaces.length === 0 && !o.namespaceSelector) return false;
    if (o.namespaces.length > 0 && !o.namespaces.some((p) => p.matches(facts.namespace))) return false;
    if (!o.namespaceSelector) return true;
    return labels ? o.namespaceSelector.matches(labels) : o.action === 'Enforce';
  });
  return override?.action ?? rule.verifyImages[0]!.failureAction;
}
