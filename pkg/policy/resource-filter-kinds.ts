// The kinds of a match or exclude block: `Pod`, `v1/Pod`, `apps/v1/Deployment`, `Pod/ephemeralcontainers`,
// `Pod.status`, `*/scale`, `batch/*/CronJob`. Parsed the way Kyverno 1.19 parses them (pkg/utils/kube/kind.go
// ParseKindSelector) and matched as it matches them (pkg/utils/match/kind.go CheckKind): each of group, version,
// kind and subresource is a wildcard pattern over the request's top-level group/version/kind and subresource.
import { compileImagePattern, type ImagePattern } from '../imageref/index.js';

/** One entry of `kinds`, split into its four wildcard patterns; a part the entry leaves out is `*`. */
export interface KindSelector {
  readonly source: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** '' for the resource itself, which is what a plain kind selects: `Pod` does not select `pods/status`. */
  readonly subresource: string;
}

/** What a kind selector is checked against: the request's resource, not its `kind` (pods/exec is Pod, not PodExecOptions). */
export interface KindFacts {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly subResource: string;
}

// A version in the first position, which tells `v1/Pod` (version/kind) from `Pod/status` (kind/subresource). One
// digit only, as in Kyverno: `v10/Foo` is kind "v10" with subresource "Foo".
const VERSION = /^(v\d((alpha|beta)\d)?|\*)$/;

export function parseKindSelector(source: string): KindSelector {
  const slashed = source.split('/');
  // Only the last part may use a dot for its subresource (`Pod.status`); groups keep theirs (`v1.demo/v1/Demo`).
  const parts = [...slashed.slice(0, -1), ...slashed[slashed.length - 1]!.split('.')];
  const at = (i: number) => parts[i]!;
  const of = (group: string, version: string, kind: string, subresource: string): KindSelector => ({
    source,
    group,
    version,
    kind,
    subresource,
  });
  switch (parts.length) {
    case 1:
      return of('*', '*', at(0), '');
    case 2:
      if (at(0) === '*' && at(1) === '*') return of('*', '*', '*', '*');
      // `*/scale`: any kind's subresource, told from `*/Pod` by the lower-case name.
      if (at(0) === '*' && at(1).toLowerCase() === at(1)) return of('*', '*', '*', at(1));
      if (VERSION.test(at(0))) return of('*', at(0), at(1), '');
      return of('*', '*', at(0), at(1));
    case 3:
      if (VERSION.test(at(0))) return of('*', at(0), at(1), at(2));
      return of(at(0), at(1), at(2), '');
    case 4:
      return of(at(0), at(1), at(2), at(3));
    default:
      // Kyverno gives four empty patterns, which no request matches (a kind is never empty).
      return of('', '', '', '');
  }
}

/** Compiles `kinds` into one check: some selector must match. */
export function compileKinds(sources: readonly string[]): (facts: KindFacts) => boolean {
  const matchers = sources.map((source) => compileKindSelector(parseKindSelector(source)));
  return (facts) => matchers.some((m) => m(facts));
}

function compileKindSelector(selector: KindSelector): (facts: KindFacts) => boolean {
  const [group, version, kind, subresource] = [
    selector.group,
    selector.version,
    selector.kind,
    selector.subresource,
  ].map(compileImagePattern) as [ImagePattern, ImagePattern, ImagePattern, ImagePattern];
  return (facts) =>
    group.matches(facts.group) &&
    version.matches(facts.version) &&
    kind.matches(facts.kind) &&
    (subresource.matches(facts.subResource) || isEphemeralContainers(facts));
}

// Kyverno's engine lets a rule that selects Pod also select pods/ephemeralcontainers (CheckKind's
// allowEphemeralContainers, set by doesResourceMatchConditionBlock), so that `kubectl debug` cannot add an
// unverified image to a running Pod.
function isEphemeralContainers(facts: KindFacts): boolean {
  return (
    facts.group === '' && facts.version === 'v1' && facts.kind === 'Pod' && facts.subResource === 'ephemeralcontainers'
  );
}
