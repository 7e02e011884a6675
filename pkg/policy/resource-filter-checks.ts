// What Kyverno 1.19 refuses in a rule's match and exclude blocks when a policy is admitted, with its words:
// api/kyverno/v1 (MatchResources, ResourceDescription, UserInfo Validate; Rule.ValidateMatchExcludeConflict) and
// pkg/validation/policy/validate.go (validateResources, validateWildcard, the kinds check). Label selector syntax is
// checked where selectors compile (resource-filter-labels.ts). Kinds are not looked up in discovery: Kyverno only
// warns about a kind it does not know.
import type { FieldError, RuleType } from '../api/v1/index.js';
import { compileImagePattern } from '../imageref/index.js';

export type Block = RuleType['match'];
export type Filter = NonNullable<Block['any']>[number];
export type Description = NonNullable<Filter['resources']>;
type Subject = NonNullable<Filter['subjects']>[number];
type Selector = NonNullable<Description['selector']>;

/**
 * Lists count only when they have entries and maps only when they have keys. Kyverno's reflect.DeepEqual sometimes
 * tells `[]` from absent; where that would make a filter select everything, it is safer not to (see isEmptyFilter).
 */
export const some = <T>(list: readonly T[] | undefined): list is readonly T[] => list !== undefined && list.length > 0;
const someKeys = (map: Readonly<Record<string, string>> | undefined) =>
  map !== undefined && Object.keys(map).length > 0;

export function isEmptyDescription(d: Description | undefined): boolean {
  return (
    d === undefined ||
    (!some(d.kinds) &&
      (d.name ?? '') === '' &&
      !some(d.names) &&
      !some(d.namespaces) &&
      !someKeys(d.annotations) &&
      d.selector === undefined &&
      d.namespaceSelector === undefined &&
      !some(d.operations))
  );
}

function isEmptyUserInfo(f: Pick<Filter, 'subjects' | 'roles' | 'clusterRoles'>): boolean {
  return !some(f.subjects) && !some(f.roles) && !some(f.clusterRoles);
}

/** A filter with nothing in it: Kyverno's "match cannot be empty"; it selects nothing. */
export function isEmptyFilter(f: Filter): boolean {
  return isEmptyDescription(f.resources) && isEmptyUserInfo(f);
}

/** The legacy form of a block (resources and user info directly under match or exclude), as one filter. */
export function legacyFilter(block: Block): Filter {
  return {
    ...(block.resources ? { resources: block.resources } : {}),
    ...(block.subjects ? { subjects: block.subjects } : {}),
    ...(block.roles ? { roles: block.roles } : {}),
    ...(block.clusterRoles ? { clusterRoles: block.clusterRoles } : {}),
  };
}

/** Checks one block; `at` is its field, e.g. spec.rules[0].match. */
export function checkBlock(block: Block, at: string, which: 'match' | 'exclude'): FieldError[] {
  const errors: FieldError[] = [];
  if (some(block.any) && some(block.all)) errors.push({ field: at, message: "Can't specify any and all together" });
  if ((some(block.any) || some(block.all)) && !isEmptyDescription(block.resources)) {
    errors.push({ field: `${at}.resources`, message: `can't specify any/all together with ${which} resources` });
  }
  const anyFilters = (block.any ?? []).map((f, i): [Filter, string] => [f, `${at}.any[${i}]`]);
  const allFilters = (block.all ?? []).map((f, i): [Filter, string] => [f, `${at}.all[${i}]`]);
  const legacy: [Filter, string] = [legacyFilter(block), at];
  for (const [filter, field] of [...anyFilters, ...allFilters, legacy]) {
    errors.push(...checkUserInfo(filter, field), ...checkDescription(filter.resources, `${field}.resources`));
  }
  if (which === 'match') {
    // Every filter Kyverno matches with must name resources, and kinds among them (validateResources and the
    // kinds check that follows it); the legacy form counts only when there are no any/all filters.
    const used = anyFilters.length > 0 ? anyFilters : allFilters.length > 0 ? allFilters : [legacy];
    for (const [filter, field] of used) {
      if (isEmptyDescription(filter.resources)) {
        errors.push({ field: `${field}.resources`, message: 'match resources not specified' });
      } else if (!some(filter.resources?.kinds)) {
        errors.push({
          field: `${field}.resources.kinds`,
          message:
            'at least one element must be specified in a kind block, the kind attribute is mandatory when working with the resources element',
        });
      }
    }
  }
  return errors;
}

function checkDescription(d: Description | undefined, at: string): FieldError[] {
  if (d === undefined) return [];
  const errors: FieldError[] = [];
  if ((d.name ?? '') !== '' && some(d.names)) {
    errors.push({ field: at, message: 'Both name and names can not be specified together' });
  }
  if (some(d.kinds) && d.kinds.includes('*') && d.kinds.length > 1) {
    errors.push({ field: `${at}.kinds`, message: 'wildcard policy can not deal with more than one kind' });
  }
  // An empty selector would select every resource; Kyverno asks for a requirement (ResourceDescription.Validate).
  if (d.selector !== undefined && !someKeys(d.selector.matchLabels) && !some(d.selector.matchExpressions)) {
    errors.push({ field: `${at}.selector`, message: 'The requirements are not specified in selector' });
  }
  return errors;
}

function checkUserInfo(f: Filter, at: string): FieldError[] {
  const errors: FieldError[] = [];
  (f.subjects ?? []).forEach((s, i) => {
    const field = `${at}.subjects[${i}]`;
    if (s.kind === '') errors.push({ field: `${field}.kind`, message: 'Required value' });
    else if (!['User', 'Group', 'ServiceAccount'].includes(s.kind)) {
      errors.push({
        field: `${field}.kind`,
        message: `Invalid value ${JSON.stringify(s.kind)}: kind must be 'User', 'Group', or 'ServiceAccount'`,
      });
    }
    if (s.name === '') errors.push({ field: `${field}.name`, message: 'Required value' });
    if (s.kind === 'ServiceAccount' && (s.namespace ?? '') === '') {
      errors.push({
        field: `${field}.namespace`,
        message: 'Required value: namespace is required when Kind is ServiceAccount',
      });
    }
  });
  (f.roles ?? []).forEach((r, i) => {
    if (r.split(':').length !== 2) {
      errors.push({
        field: `${at}.roles[${i}]`,
        message: `Invalid value ${JSON.stringify(r)}: Role is expected to be in namespace:name format`,
      });
    }
  });
  return errors;
}

const EMPTY_SET: FieldError['message'] = 'Rule is matching an empty set';

/**
 * Kyverno's Rule.ValidateMatchExcludeConflict, step for step: a heuristic that refuses a rule whose exclude block
 * obviously covers its match block. It compares the legacy fields only (and identical any filters), ignores
 * operations, and returns at the first field that shows the sets differ; `at` is the rule's field.
 */
export function checkMatchExcludeConflict(match: Block, exclude: Block | undefined, at: string): FieldError[] {
  const conflict = [{ field: at, message: EMPTY_SET }];
  if (exclude === undefined || some(exclude.all) || some(match.all)) return [];
  if (some(match.any) && some(exclude.any)) {
    const excluded = new Set(exclude.any.map(canonicalFilter));
    return match.any.some((f) => excluded.has(canonicalFilter(f))) ? conflict : [];
  }
  // From here on only the legacy fields count, even when one block has any filters: Kyverno then compares empty
  // fields and, finding nothing that tells the blocks apart, calls the rule empty.
  if (!some(exclude.any) && isEmptyFilter(legacyFilter(exclude))) return [];
  const m = match;
  const e = exclude;
  if (!covers(e.roles ?? [], m.roles ?? []) || !covers(e.clusterRoles ?? [], m.clusterRoles ?? [])) return [];
  if (!covers((e.subjects ?? []).map(subjectKey), (m.subjects ?? []).map(subjectKey))) return [];
  const er: Description = e.resources ?? {};
  const mr: Description = m.resources ?? {};
  if ((er.name ?? '') !== '' && !compileImagePattern(er.name!).matches(mr.name ?? '')) return [];
  if (some(er.names)) {
    // Kyverno decides on names alone here: any matched name an excluded pattern covers is a conflict.
    const patterns = er.names.map(compileImagePattern);
    return (mr.names ?? []).some((n) => patterns.some((p) => p.matches(n))) ? conflict : [];
  }
  if (!covers(er.namespaces ?? [], mr.namespaces ?? []) || !covers(er.kinds ?? [], mr.kinds ?? [])) return [];
  if (!selectorCovers(er.selector, mr.selector) || !selectorCovers(er.namespaceSelector, mr.namespaceSelector)) {
    return [];
  }
  if ((mr.selector === undefined) !== (er.selector === undefined)) return [];
  if ((mr.namespaceSelector === undefined) !== (er.namespaceSelector === undefined)) return [];
  if (someKeys(mr.annotations) !== someKeys(er.annotations)) return [];
  if (someKeys(mr.annotations) && !sameMap(mr.annotations!, er.annotations!)) return [];
  return conflict;
}

function selectorCovers(excluded: Selector | undefined, matched: Selector | undefined): boolean {
  if (excluded === undefined || matched === undefined) return true;
  const expressions = (excluded.matchExpressions ?? []).map(expressionKey);
  if (!covers(expressions, (matched.matchExpressions ?? []).map(expressionKey))) return false;
  if (someKeys(excluded.matchLabels)) {
    if (!someKeys(matched.matchLabels)) return false;
    const labels = excluded.matchLabels!;
    // A key the exclude block lacks reads as "" in Go, so it agrees with a matched label whose value is "".
    return Object.entries(matched.matchLabels!).every(([k, v]) => (Object.hasOwn(labels, k) ? labels[k] : '') === v);
  }
  return true;
}

function covers(excluded: readonly string[], matched: readonly string[]): boolean {
  return excluded.length === 0 || (matched.length > 0 && matched.every((x) => excluded.includes(x)));
}

// Kyverno compares subjects and selector requirements by their JSON, where empty optional fields are left out.
function subjectKey(s: Subject): string {
  return JSON.stringify([s.kind, s.apiGroup ?? '', s.name, s.namespace ?? '']);
}

function expressionKey(e: NonNullable<Selector['matchExpressions']>[number]): string {
  return JSON.stringify([e.key, e.operator, e.values ?? []]);
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

/** A filter as Kyverno's reflect.DeepEqual sees it (empty lists aside): map keys sorted, absent strings empty. */
function canonicalFilter(f: Filter): string {
  const d: Description = f.resources ?? {};
  const list = (l: readonly string[] | undefined) => (some(l) ? l : []);
  const map = (m: Readonly<Record<string, string>> | undefined) =>
    Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const selector = (s: Selector | undefined) =>
    s === undefined ? null : [map(s.matchLabels), (s.matchExpressions ?? []).map(expressionKey)];
  return JSON.stringify([
    list(d.kinds),
    d.name ?? '',
    list(d.names),
    list(d.namespaces),
    map(d.annotations),
    selector(d.selector),
    selector(d.namespaceSelector),
    list(d.operations),
    list(f.roles),
    list(f.clusterRoles),
    (f.subjects ?? []).map(subjectKey),
  ]);
}
