// Autogen: a rule written for Pods also applies to the controllers that make Pods, through generated rules that
// match the controllers (Kyverno pkg/autogen/v1; kyverno-verifyimages.md §4.2). `autogen-<rule>` matches the
// workload controllers, `autogen-cronjob-<rule>` CronJobs; their images live in the pod template, which the webhook's
// image extraction reads. The annotation pod-policies.kyverno.io/autogen-controllers chooses the controllers:
// absent means all, `none` none, or a comma-separated list.
import type { PolicyResource, RuleType } from '../api/v1/index.js';

export const AUTOGEN_ANNOTATION = 'pod-policies.kyverno.io/autogen-controllers';
export const POD_CONTROLLERS = [
  'DaemonSet',
  'Deployment',
  'Job',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
  'CronJob',
] as const;

type Filter = NonNullable<RuleType['match']['any']>[number];
type Description = NonNullable<Filter['resources']>;

/** Kubernetes object names, and so rule names, are at most 63 characters. */
const MAX_NAME = 63;

/**
 * The controllers autogen applies to for this policy, in Kyverno's order; none when the policy cannot be autogen'd
 * (CanAutoGen) or the annotation says none.
 */
export function toAutogenControllers(policy: PolicyResource): string[] {
  if (!canAutogen(policy.spec.rules)) return [];
  const annotations = (policy.metadata as { annotations?: Record<string, unknown> } | undefined)?.annotations;
  const value = annotations?.[AUTOGEN_ANNOTATION];
  if (typeof value !== 'string' || value.trim() === '' || value.trim() === 'all') return [...POD_CONTROLLERS];
  if (value.trim() === 'none') return [];
  const named = new Set(value.split(',').map((k) => k.trim()));
  return POD_CONTROLLERS.filter((k) => named.has(k));
}

/** The rules autogen adds to the policy's own, as status.autogen.rules shows them. */
export function toAutogenRules(policy: PolicyResource): RuleType[] {
  const controllers = toAutogenControllers(policy);
  const workloads = controllers.filter((k) => k !== 'CronJob');
  const cronJobs = controllers.includes('CronJob');
  return policy.spec.rules
    .filter((rule) => !rule.name.startsWith('autogen-') && ruleKinds(rule).includes('Pod'))
    .flatMap((rule) => [
      ...(workloads.length > 0 ? [toControllerRule(rule, 'autogen-', workloads, 'spec.template.spec')] : []),
      ...(cronJobs
        ? [toControllerRule(rule, 'autogen-cronjob-', ['CronJob'], 'spec.jobTemplate.spec.template.spec')]
        : []),
    ]);
}

/**
 * Kyverno's CanAutoGen: no generate rules or JSON 6902 patches, no filters on names, labels or annotations (a Pod's
 * would not be its controller's), no rule mixing Pod with other kinds, and some rule matching Pod.
 */
function canAutogen(rules: readonly RuleType[]): boolean {
  let matchesPod = false;
  for (const rule of rules) {
    if (rule.generate !== undefined) return false;
    if (rule.mutate !== undefined && 'patchesJson6902' in rule.mutate) return false;
    for (const d of [...descriptions(rule.match), ...(rule.exclude ? descriptions(rule.exclude) : [])]) {
      const selecting = d as Description & { annotations?: unknown };
      if (selecting.name || selecting.names || selecting.selector || selecting.annotations) return false;
    }
    const kinds = ruleKinds(rule);
    if (kinds.includes('Pod')) {
      if (kinds.some((k) => k !== 'Pod')) return false;
      matchesPod = true;
    }
  }
  return matchesPod;
}

function descriptions(match: RuleType['match']): Description[] {
  return [
    match.resources,
    ...(match.any ?? []).map((f) => f.resources),
    ...(match.all ?? []).map((f) => f.resources),
  ].filter((d): d is Description => d !== undefined);
}

/** The bare kinds a rule matches (v1/Pod is Pod). */
function ruleKinds(rule: RuleType): string[] {
  return descriptions(rule.match).flatMap((d) => (d.kinds ?? []).map(bareKind));
}

function bareKind(kind: string): string {
  return kind.slice(kind.lastIndexOf('/') + 1);
}

function toControllerRule(rule: RuleType, prefix: string, kinds: readonly string[], podSpec: string): RuleType {
  // Deep copy first, so the generated rule shares nothing with the user's.
  const rest = structuredClone(rule);
  delete rest.imageExtractors;
  const withKinds = (match: RuleType['match']): RuleType['match'] => {
    const swap = (d: Description | undefined) =>
      d?.kinds ? { ...d, kinds: d.kinds.flatMap((k) => (bareKind(k) === 'Pod' ? [...kinds] : [k])) } : d;
    return {
      ...match,
      ...(match.resources ? { resources: swap(match.resources)! } : {}),
      ...(match.any
        ? { any: match.any.map((f) => ({ ...f, ...(f.resources ? { resources: swap(f.resources)! } : {}) })) }
        : {}),
      ...(match.all
        ? { all: match.all.map((f) => ({ ...f, ...(f.resources ? { resources: swap(f.resources)! } : {}) })) }
        : {}),
    };
  };
  const generated: RuleType = {
    ...rest,
    name: `${prefix}${rule.name}`.slice(0, MAX_NAME),
    match: withKinds(rest.match),
    ...(rest.exclude ? { exclude: withKinds(rest.exclude) } : {}),
  };
  // Variables that point into the Pod's spec point into the template's in the controller.
  const rewritten = JSON.stringify(generated).replaceAll('request.object.spec', `request.object.${podSpec}`);
  return JSON.parse(rewritten) as RuleType;
}
