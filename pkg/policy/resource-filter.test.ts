import type { RuleType } from '../api/v1/index.js';
import { checkMatchExcludeConflict } from './resource-filter-checks.js';
import { parseKindSelector } from './resource-filter-kinds.js';
import { compileResourceFilters, type AdmissionFacts, type CompiledResourceFilter } from './resource-filter.js';

type Match = RuleType['match'];
type Filter = NonNullable<Match['any']>[number];

/** A Pod CREATE by alice in "default", which is labelled env=prod. */
function facts(over: Partial<AdmissionFacts> = {}): AdmissionFacts {
  return {
    group: '',
    version: 'v1',
    kind: 'Pod',
    subResource: '',
    operation: 'CREATE',
    name: 'web',
    namespace: 'default',
    labels: {},
    annotations: {},
    namespaceLabels: { env: 'prod' },
    userInfo: { username: 'alice', groups: ['system:authenticated'] },
    roles: [],
    clusterRoles: [],
    ...over,
  };
}

function compiled(match: Match, exclude?: Match): CompiledResourceFilter {
  const result = compileResourceFilters(match, exclude, 'spec.rules[0]');
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

function errorsOf(match: Match, exclude?: Match) {
  const result = compileResourceFilters(match, exclude, 'spec.rules[0]');
  if (result.ok) throw new Error('expected the filters not to compile');
  return result.error;
}

const POD = { kinds: ['Pod'] };

/** One behaviour of a filter field: a filter, a request it selects and one it does not. */
interface FieldCase {
  readonly name: string;
  readonly filter: Filter;
  readonly selected: Partial<AdmissionFacts>;
  readonly notSelected: Partial<AdmissionFacts>;
}

const fieldCases: FieldCase[] = [
  {
    name: 'kinds: a bare kind',
    filter: { resources: { kinds: ['Pod'] } },
    selected: {},
    notSelected: { group: 'apps', kind: 'Deployment' },
  },
  {
    name: 'kinds: group/version/kind',
    filter: { resources: { kinds: ['apps/v1/Deployment'] } },
    selected: { group: 'apps', kind: 'Deployment' },
    notSelected: { group: 'extensions', kind: 'Deployment' },
  },
  {
    name: 'kinds: a plain kind does not select a subresource',
    filter: { resources: { kinds: ['Pod'] } },
    selected: {},
    notSelected: { subResource: 'status' },
  },
  {
    name: 'name: a wildcard',
    filter: { resources: { ...POD, name: 'web-*' } },
    selected: { name: 'web-1' },
    notSelected: { name: 'api-1' },
  },
  {
    name: 'names: one of them, ? is exactly one character',
    filter: { resources: { ...POD, names: ['web', 'api-?'] } },
    selected: { name: 'api-1' },
    notSelected: { name: 'api-12' },
  },
  {
    name: 'names: a CREATE with only generateName is matched on the prefix',
    filter: { resources: { ...POD, names: ['web-*'] } },
    selected: { name: 'web-' },
    notSelected: { name: 'api-' },
  },
  {
    name: 'namespaces: a wildcard',
    filter: { resources: { ...POD, namespaces: ['team-*'] } },
    selected: { namespace: 'team-a' },
    notSelected: { namespace: 'default' },
  },
  {
    name: 'namespaces: a Namespace is in its own namespace',
    filter: { resources: { kinds: ['Namespace'], namespaces: ['team-*'] } },
    selected: { kind: 'Namespace', name: 'team-a', namespace: '' },
    notSelected: { kind: 'Namespace', name: 'default', namespace: '' },
  },
  {
    name: 'annotations: a literal key and value',
    filter: { resources: { ...POD, annotations: { 'imprimatur.io/verify': 'true' } } },
    selected: { annotations: { 'imprimatur.io/verify': 'true', other: 'x' } },
    notSelected: { annotations: { 'imprimatur.io/verify': 'false' } },
  },
  {
    name: 'annotations: wildcards in key and value',
    filter: { resources: { ...POD, annotations: { 'team.io/*': 'on*' } } },
    selected: { annotations: { 'team.io/verify': 'only' } },
    notSelected: { annotations: { 'team.io/verify': 'off', 'other.io/verify': 'on' } },
  },
  {
    name: 'annotations: a wildcard value still needs the key',
    filter: { resources: { ...POD, annotations: { 'imprimatur.io/skip': '*' } } },
    selected: { annotations: { 'imprimatur.io/skip': '' } },
    notSelected: { annotations: {} },
  },
  {
    name: 'selector: matchLabels',
    filter: { resources: { ...POD, selector: { matchLabels: { app: 'web' } } } },
    selected: { labels: { app: 'web', tier: 'x' } },
    notSelected: { labels: { app: 'db' } },
  },
  {
    name: 'selector: matchLabels with wildcards match through a label that matches both',
    filter: { resources: { ...POD, selector: { matchLabels: { 'app.kubernetes.io/*': 'web-?' } } } },
    selected: { labels: { 'app.kubernetes.io/name': 'web-1' } },
    notSelected: { labels: { 'app.kubernetes.io/name': 'db-1', other: 'web-1' } },
  },
  {
    name: 'selector: In',
    filter: {
      resources: { ...POD, selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] } },
    },
    selected: { labels: { tier: 'b' } },
    notSelected: { labels: {} },
  },
  {
    name: 'selector: NotIn holds without the label',
    filter: {
      resources: { ...POD, selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] } },
    },
    selected: { labels: {} },
    notSelected: { labels: { tier: 'a' } },
  },
  {
    name: 'selector: Exists',
    filter: { resources: { ...POD, selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } } },
    selected: { labels: { tier: '' } },
    notSelected: { labels: { other: 'tier' } },
  },
  {
    name: 'selector: DoesNotExist',
    filter: {
      resources: { ...POD, selector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist', values: [] }] } },
    },
    selected: { labels: { other: 'x' } },
    notSelected: { labels: { tier: 'x' } },
  },
  {
    name: "selector: a label is an own property, so 'constructor' is not there",
    filter: { resources: { ...POD, selector: { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] } } },
    selected: { labels: { constructor: 'x' } },
    notSelected: { labels: {} },
  },
  {
    name: "namespaceSelector: the namespace's labels",
    filter: { resources: { ...POD, namespaceSelector: { matchLabels: { env: 'prod' } } } },
    selected: { namespaceLabels: { env: 'prod' } },
    notSelected: { namespaceLabels: { env: 'dev' } },
  },
  {
    name: 'namespaceSelector: a cluster-scoped resource has no namespace labels',
    filter: {
      resources: {
        kinds: ['Node'],
        namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] },
      },
    },
    selected: { kind: 'Node', namespace: '', namespaceLabels: undefined },
    notSelected: { kind: 'Node', namespace: 'default', namespaceLabels: { env: 'prod' } },
  },
  {
    name: 'operations',
    filter: { resources: { ...POD, operations: ['CREATE', 'UPDATE'] } },
    selected: { operation: 'UPDATE' },
    notSelected: { operation: 'DELETE' },
  },
  {
    name: 'subjects: a User, with wildcards',
    filter: { resources: POD, subjects: [{ kind: 'User', name: 'ali*' }] },
    selected: { userInfo: { username: 'alice', groups: [] } },
    notSelected: { userInfo: { username: 'bob', groups: ['alice'] } },
  },
  {
    name: 'subjects: a Group',
    filter: { resources: POD, subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' }] },
    selected: { userInfo: { username: 'bob', groups: ['system:authenticated', 'devs'] } },
    notSelected: { userInfo: { username: 'devs', groups: ['ops'] } },
  },
  {
    name: 'subjects: a ServiceAccount, through its username',
    filter: { resources: POD, subjects: [{ kind: 'ServiceAccount', name: 'builder', namespace: 'ci' }] },
    selected: { userInfo: { username: 'system:serviceaccount:ci:builder', groups: [] } },
    notSelected: { userInfo: { username: 'system:serviceaccount:other:builder', groups: ['builder'] } },
  },
  {
    name: 'subjects: one of them',
    filter: {
      resources: POD,
      subjects: [
        { kind: 'User', name: 'bob' },
        { kind: 'ServiceAccount', name: '*', namespace: 'ci' },
      ],
    },
    selected: { userInfo: { username: 'system:serviceaccount:ci:any', groups: [] } },
    notSelected: { userInfo: { username: 'carol', groups: [] } },
  },
  {
    name: 'roles: compared exactly',
    filter: { resources: POD, roles: ['ci:deployer', 'ci:web*'] },
    selected: { roles: ['default:viewer', 'ci:deployer'] },
    notSelected: { roles: ['ci:web-admin'] },
  },
  {
    name: 'clusterRoles',
    filter: { resources: POD, clusterRoles: ['cluster-admin'] },
    selected: { clusterRoles: ['view', 'cluster-admin'] },
    notSelected: { clusterRoles: ['admin'], roles: ['default:cluster-admin'] },
  },
  {
    name: 'every field given must hold',
    filter: {
      resources: { ...POD, namespaces: ['prod'], operations: ['CREATE'] },
      subjects: [{ kind: 'User', name: 'alice' }],
    },
    selected: { namespace: 'prod' },
    notSelected: { namespace: 'prod', operation: 'UPDATE' },
  },
];

/** The filter in each of the three forms of a block. */
const forms: [form: string, toBlock: (f: Filter) => Match][] = [
  ['match.any', (f) => ({ any: [f] })],
  ['match.all', (f) => ({ all: [f] })],
  ['the legacy form', (f) => ({ ...f })],
];

describe('compileResourceFilters', () => {
  describe.each(forms)('in %s', (_form, toBlock) => {
    it.each(fieldCases)('$name', ({ filter, selected, notSelected }) => {
      const rule = compiled(toBlock(filter));
      expect([rule.matches(facts(selected)), rule.matches(facts(notSelected))]).toEqual([true, false]);
    });

    it.each(fieldCases)('in exclude, $name', ({ filter, selected, notSelected }) => {
      // Every resource and subresource, in a match.all block, which Kyverno's match/exclude conflict check skips.
      const rule = compiled({ all: [{ resources: { kinds: ['*/*'] } }] }, toBlock(filter));
      expect([rule.matches(facts(selected)), rule.matches(facts(notSelected))]).toEqual([false, true]);
    });
  });

  describe('kinds', () => {
    const cases: [kinds: string, request: Partial<AdmissionFacts>, matches: boolean][] = [
      ['*', { group: 'apps', kind: 'Deployment' }, true],
      ['*', { subResource: 'status' }, false],
      ['*/*', { subResource: 'status' }, true],
      ['v1/Pod', {}, true],
      ['v1/Pod', { version: 'v1beta1' }, false],
      ['Pod', { group: 'example.io' }, true],
      ['tekton.dev/v1beta1/TaskRun', { group: 'tekton.dev', version: 'v1beta1', kind: 'TaskRun' }, true],
      ['tekton.dev/*/TaskRun', { group: 'tekton.dev', version: 'v1alpha1', kind: 'TaskRun' }, true],
      ['tekton.dev/*/TaskRun', { group: 'other.dev', version: 'v1alpha1', kind: 'TaskRun' }, false],
      ['apps/v1/*', { group: 'apps', kind: 'StatefulSet' }, true],
      ['apps/v1/*', { group: 'apps', version: 'v1beta2', kind: 'StatefulSet' }, false],
      ['apps/v1/*', { group: 'batch', kind: 'Job' }, false],
      ['Dep*', { group: 'apps', kind: 'Deployment' }, true],
      ['postgresdb', { group: 'acid.zalan.do', kind: 'postgresdb' }, true],
      ['Postgresdb', { group: 'acid.zalan.do', kind: 'postgresdb' }, false],
      [
        'networking.k8s.io/v1/NetworkPolicy/status',
        { group: 'networking.k8s.io', kind: 'NetworkPolicy', subResource: 'status' },
        true,
      ],
      ['v1/Pod.status', { subResource: 'status' }, true],
      ['Pod/ephemeralcontainers', { subResource: 'ephemeralcontainers' }, true],
      ['Pod/ephemeralcontainers', {}, false],
      ['Pod', { subResource: 'ephemeralcontainers' }, true],
      ['v1/Pod', { subResource: 'ephemeralcontainers' }, true],
      ['Pod', { group: 'example.io', subResource: 'ephemeralcontainers' }, false],
      ['Pod/*', { subResource: 'exec', operation: 'CONNECT' }, true],
      ['*/Pod.eviction', { subResource: 'eviction' }, true],
      ['v1alpha1/Pod.eviction', { subResource: 'eviction' }, false],
      ['*/scale', { group: 'apps', kind: 'Deployment', subResource: 'scale' }, true],
      ['*/scale', { group: 'apps', kind: 'Deployment' }, false],
      ['*/*/*/*/*', {}, false],
    ];
    it.each(cases)('%j against %j gives %s', (kind, request, matches) => {
      expect(compiled({ any: [{ resources: { kinds: [kind] } }] }).matches(facts(request))).toBe(matches);
    });

    it('selects when one of the kinds matches', () => {
      const rule = compiled({ resources: { kinds: ['apps/v1/Deployment', 'Pod'] } });
      expect([rule.matches(facts()), rule.matches(facts({ group: 'batch', kind: 'Job' }))]).toEqual([true, false]);
    });
  });

  describe('parseKindSelector, as Kyverno parses kinds', () => {
    const cases: [source: string, group: string, version: string, kind: string, subresource: string][] = [
      ['*', '*', '*', '*', ''],
      ['*.*', '*', '*', '*', '*'],
      ['*/*', '*', '*', '*', '*'],
      ['Pod', '*', '*', 'Pod', ''],
      ['v1/Pod', '*', 'v1', 'Pod', ''],
      ['batch/*/CronJob', 'batch', '*', 'CronJob', ''],
      ['storage.k8s.io/v1/CSIDriver', 'storage.k8s.io', 'v1', 'CSIDriver', ''],
      ['tekton.dev/v1beta1/TaskRun/status', 'tekton.dev', 'v1beta1', 'TaskRun', 'status'],
      ['v1/Pod.status', '*', 'v1', 'Pod', 'status'],
      ['v1/Pod/status', '*', 'v1', 'Pod', 'status'],
      ['Pod.status', '*', '*', 'Pod', 'status'],
      ['Pod/status', '*', '*', 'Pod', 'status'],
      ['apps/v1/Deployment/scale', 'apps', 'v1', 'Deployment', 'scale'],
      ['*/Deployment.scale', '*', '*', 'Deployment', 'scale'],
      ['apps/v1/Deployment.scale', 'apps', 'v1', 'Deployment', 'scale'],
      ['v1.demo/v1/Demo', 'v1.demo', 'v1', 'Demo', ''],
      ['*/scale', '*', '*', '*', 'scale'],
      ['*/Pod', '*', '*', 'Pod', ''],
      ['Pod/*', '*', '*', 'Pod', '*'],
      ['*/*/*', '*', '*', '*', '*'],
      ['apps/v1/*', 'apps', 'v1', '*', ''],
      ['v10/Foo', '*', '*', 'v10', 'Foo'],
      ['*/*/*/*/*', '', '', '', ''],
    ];
    it.each(cases)(
      '%j is group %j, version %j, kind %j, subresource %j',
      (source, group, version, kind, subresource) => {
        expect(parseKindSelector(source)).toEqual({ source, group, version, kind, subresource });
      },
    );
  });

  describe('kinds()', () => {
    it('lists the bare kinds of the match filters in use, not those of exclude', () => {
      const rule = compiled(
        {
          any: [
            { resources: { kinds: ['apps/v1/Deployment', 'Pod/ephemeralcontainers'] } },
            { resources: { kinds: ['batch/*/CronJob', 'Dep*'] } },
          ],
        },
        { any: [{ resources: { kinds: ['Job'] } }] },
      );
      expect([...rule.kinds()].sort()).toEqual(['CronJob', 'Dep*', 'Deployment', 'Pod']);
    });

    it('lists those of the legacy form', () => {
      expect([...compiled({ resources: { kinds: ['v1/Pod'] } }).kinds()]).toEqual(['Pod']);
    });
  });

  describe('match.any', () => {
    const rule = compiled({
      any: [{ resources: { kinds: ['Pod'], names: ['web'] } }, { resources: { kinds: ['Pod'], namespaces: ['prod'] } }],
    });
    it('selects when one filter holds', () => {
      expect([
        rule.matches(facts({ name: 'web' })),
        rule.matches(facts({ name: 'api', namespace: 'prod' })),
        rule.matches(facts({ name: 'api' })),
      ]).toEqual([true, true, false]);
    });
  });

  describe('match.all', () => {
    const rule = compiled({
      all: [{ resources: { kinds: ['Pod'], names: ['web'] } }, { resources: { kinds: ['Pod'], namespaces: ['prod'] } }],
    });
    it('selects only when every filter holds', () => {
      expect([
        rule.matches(facts({ name: 'web', namespace: 'prod' })),
        rule.matches(facts({ name: 'web' })),
        rule.matches(facts({ name: 'api', namespace: 'prod' })),
      ]).toEqual([true, false, false]);
    });
  });

  describe('exclude', () => {
    const match: Match = { any: [{ resources: { kinds: ['Pod'] } }] };
    it('exclude.any excludes when one filter holds', () => {
      const rule = compiled(match, {
        any: [{ resources: { namespaces: ['kube-system'] } }, { subjects: [{ kind: 'User', name: 'admin' }] }],
      });
      expect([
        rule.matches(facts({ namespace: 'kube-system' })),
        rule.matches(facts({ userInfo: { username: 'admin', groups: [] } })),
        rule.matches(facts()),
      ]).toEqual([false, false, true]);
    });

    it('exclude.all excludes only when every filter holds', () => {
      const rule = compiled(match, {
        all: [{ resources: { namespaces: ['kube-system'] } }, { subjects: [{ kind: 'User', name: 'admin' }] }],
      });
      const admin = { userInfo: { username: 'admin', groups: [] } };
      expect([
        rule.matches(facts({ namespace: 'kube-system', ...admin })),
        rule.matches(facts({ namespace: 'kube-system' })),
        rule.matches(facts(admin)),
      ]).toEqual([false, true, true]);
    });

    it('an empty exclude filter excludes nothing', () => {
      expect(compiled(match, { any: [{}] }).matches(facts())).toBe(true);
      expect(compiled(match, { all: [{ resources: { namespaces: ['default'] } }, {}] }).matches(facts())).toBe(true);
      expect(compiled(match, { any: [{ resources: { namespaces: ['default'] } }, {}] }).matches(facts())).toBe(false);
    });

    it('a filter whose lists are all empty excludes nothing (Kyverno would exclude everything)', () => {
      const rule = compiled(match, { any: [{ subjects: [], roles: [], clusterRoles: [] }] });
      expect(rule.matches(facts())).toBe(true);
    });

    it('an empty exclude block excludes nothing', () => {
      expect(compiled(match, {}).matches(facts())).toBe(true);
    });
  });

  describe('legacy user info beside any/all filters', () => {
    it('is ignored, as Kyverno ignores it', () => {
      const rule = compiled(
        { any: [{ resources: { kinds: ['Pod'] } }], subjects: [{ kind: 'User', name: 'bob' }] },
        { any: [{ resources: { namespaces: ['kube-system'] } }], roles: ['default:viewer'] },
      );
      expect([rule.matches(facts()), rule.matches(facts({ namespace: 'kube-system' }))]).toEqual([true, false]);
      expect(rule.needsUserInfo).toBe(false);
    });
  });

  describe('a namespaceSelector', () => {
    const selector = { matchLabels: { env: 'prod' } };
    it('never selects a Namespace, even one that has no labels', () => {
      const rule = compiled({
        resources: {
          kinds: ['Namespace', 'Pod'],
          namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] },
        },
      });
      expect([
        rule.matches(facts({ kind: 'Namespace', name: 'default', namespace: '', namespaceLabels: undefined })),
        rule.matches(facts({ kind: 'Namespace', name: 'default', namespace: 'default', namespaceLabels: {} })),
        rule.matches(facts({ namespaceLabels: {} })),
      ]).toEqual([false, false, true]);
    });

    it('that is empty selects every namespace', () => {
      const rule = compiled({ resources: { kinds: ['Pod'], namespaceSelector: {} } });
      expect([rule.matches(facts({ namespaceLabels: {} })), rule.matches(facts({ namespace: '' }))]).toEqual([
        true,
        true,
      ]);
    });

    it('does not select a cluster-scoped resource by labels it does not have', () => {
      const rule = compiled({ resources: { kinds: ['*'], namespaceSelector: selector } });
      expect([
        rule.matches(facts({ kind: 'Node', namespace: '', namespaceLabels: { env: 'prod' } })),
        rule.matches(facts({ kind: 'Node', namespace: 'default', namespaceLabels: { env: 'prod' } })),
      ]).toEqual([false, true]);
    });

    it('in match, selects when the namespace is unknown, so that the images are verified', () => {
      const rule = compiled({ resources: { kinds: ['Pod'], namespaceSelector: selector } });
      expect([
        rule.matches(facts({ namespaceLabels: undefined })),
        rule.matches(facts({ namespaceLabels: { env: 'dev' } })),
      ]).toEqual([true, false]);
    });

    it('in exclude, does not exclude when the namespace is unknown', () => {
      const rule = compiled(
        { any: [{ resources: { kinds: ['Pod'] } }] },
        { any: [{ resources: { namespaceSelector: selector } }] },
      );
      expect([rule.matches(facts({ namespaceLabels: undefined })), rule.matches(facts())]).toEqual([true, false]);
    });
  });

  describe('what the webhook must gather', () => {
    const cases: [
      what: string,
      match: Match,
      exclude: Match | undefined,
      userInfo: boolean,
      roles: boolean,
      labels: boolean,
    ][] = [
      ['nothing for kinds alone', { resources: POD }, undefined, false, false, false],
      [
        'user info for subjects',
        { resources: POD, subjects: [{ kind: 'User', name: 'a' }] },
        undefined,
        true,
        false,
        false,
      ],
      ['roles for roles', { any: [{ resources: POD, roles: ['a:b'] }] }, undefined, true, true, false],
      ['roles for clusterRoles in exclude', { resources: POD }, { all: [{ clusterRoles: ['x'] }] }, true, true, false],
      [
        'namespace labels for a namespaceSelector',
        { all: [{ resources: { ...POD, namespaceSelector: {} } }] },
        undefined,
        false,
        false,
        true,
      ],
      [
        'namespace labels for one in exclude',
        { any: [{ resources: POD }] },
        { any: [{ resources: { namespaceSelector: {} } }] },
        false,
        false,
        true,
      ],
    ];
    it.each(cases)('%s', (_what, match, exclude, userInfo, roles, labels) => {
      const rule = compiled(match, exclude);
      expect([rule.needsUserInfo, rule.needsRoles, rule.needsNamespaceLabels]).toEqual([userInfo, roles, labels]);
    });
  });

  describe('refuses what Kyverno refuses', () => {
    const at = 'spec.rules[0]';
    const cases: [what: string, match: Match, exclude: Match | undefined, field: string, message: string][] = [
      [
        'any with all',
        { any: [{ resources: POD }], all: [{ resources: POD }] },
        undefined,
        `${at}.match`,
        "Can't specify any and all together",
      ],
      [
        'any/all with legacy match resources',
        { any: [{ resources: POD }], resources: POD },
        undefined,
        `${at}.match.resources`,
        "can't specify any/all together with match resources",
      ],
      [
        'any/all with legacy exclude resources',
        { any: [{ resources: POD }] },
        { all: [{ resources: { names: ['a'] } }], resources: { names: ['b'] } },
        `${at}.exclude.resources`,
        "can't specify any/all together with exclude resources",
      ],
      [
        'a match without resources',
        { subjects: [{ kind: 'User', name: 'alice' }] },
        undefined,
        `${at}.match.resources`,
        'match resources not specified',
      ],
      [
        'a match filter without kinds',
        { any: [{ resources: POD }, { resources: { namespaces: ['prod'] } }] },
        undefined,
        `${at}.match.any[1].resources.kinds`,
        'at least one element must be specified in a kind block, the kind attribute is mandatory when working with the resources element',
      ],
      [
        'name with names',
        { resources: { ...POD, name: 'a', names: ['b'] } },
        undefined,
        `${at}.match.resources`,
        'Both name and names can not be specified together',
      ],
      [
        'the wildcard kind with another kind',
        { all: [{ resources: { kinds: ['*', 'Pod'] } }] },
        undefined,
        `${at}.match.all[0].resources.kinds`,
        'wildcard policy can not deal with more than one kind',
      ],
      [
        'a selector without requirements',
        { resources: { ...POD, selector: { matchLabels: {} } } },
        undefined,
        `${at}.match.resources.selector`,
        'The requirements are not specified in selector',
      ],
      [
        'a subject without a kind',
        { resources: POD, subjects: [{ kind: '', name: 'a' }] },
        undefined,
        `${at}.match.subjects[0].kind`,
        'Required value',
      ],
      [
        'a subject of another kind',
        { any: [{ resources: POD, subjects: [{ kind: 'Robot', name: 'a' }] }] },
        undefined,
        `${at}.match.any[0].subjects[0].kind`,
        `Invalid value "Robot": kind must be 'User', 'Group', or 'ServiceAccount'`,
      ],
      [
        'a subject without a name',
        { any: [{ resources: POD }] },
        { any: [{ subjects: [{ kind: 'Group', name: '' }] }] },
        `${at}.exclude.any[0].subjects[0].name`,
        'Required value',
      ],
      [
        'a ServiceAccount without a namespace',
        { resources: POD },
        { subjects: [{ kind: 'ServiceAccount', name: 'a' }] },
        `${at}.exclude.subjects[0].namespace`,
        'Required value: namespace is required when Kind is ServiceAccount',
      ],
      [
        'a role that is not namespace:name',
        { any: [{ resources: POD, roles: ['ci:a', 'a:b:c'] }] },
        undefined,
        `${at}.match.any[0].roles[1]`,
        'Invalid value "a:b:c": Role is expected to be in namespace:name format',
      ],
      [
        'identical match and exclude filters',
        { any: [{ resources: POD }, { resources: { kinds: ['Pod'], names: ['a'] } }] },
        { any: [{ resources: { names: ['a'], kinds: ['Pod'] } }] },
        at,
        'Rule is matching an empty set',
      ],
      [
        'a legacy exclude that covers the legacy match',
        { resources: { kinds: ['Pod'], names: ['web-1'] } },
        { resources: { kinds: ['Job'], names: ['web-*'] } },
        at,
        'Rule is matching an empty set',
      ],
      [
        'a legacy exclude of operations only: Kyverno ignores operations here',
        { resources: POD },
        { resources: { operations: ['DELETE'] } },
        at,
        'Rule is matching an empty set',
      ],
      [
        'a legacy exclude whose matchLabels lack a key the match gives as "": Go reads the missing key as ""',
        { resources: { ...POD, selector: { matchLabels: { a: '' } } } },
        { resources: { ...POD, selector: { matchLabels: { b: 'x' } } } },
        at,
        'Rule is matching an empty set',
      ],
      [
        'a legacy match with exclude.any: Kyverno compares the empty legacy exclude fields',
        { resources: POD },
        { any: [{ resources: { namespaces: ['kube-system'] } }] },
        at,
        'Rule is matching an empty set',
      ],
    ];
    it.each(cases)('%s', (_what, match, exclude, field, message) => {
      expect(errorsOf(match, exclude)).toEqual([{ field, message }]);
    });

    it('reports every problem at once', () => {
      const errors = errorsOf({
        any: [
          { resources: { namespaces: ['a'] } },
          { resources: { ...POD, selector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] } } },
        ],
      });
      expect(errors.map((e) => e.field)).toEqual([
        'spec.rules[0].match.any[0].resources.kinds',
        'spec.rules[0].match.any[1].resources.selector.matchExpressions[0].operator',
      ]);
    });
  });

  describe('refuses label selectors that do not parse', () => {
    const s = 'spec.rules[0].match.any[0].resources.selector';
    const ns = 'spec.rules[0].match.any[0].resources.namespaceSelector';
    type Selector = {
      matchLabels?: Record<string, string>;
      matchExpressions?: { key: string; operator: string; values?: string[] }[];
    };
    const cases: [what: string, selector: Selector, namespaced: boolean, field: string, message: RegExp][] = [
      [
        'an unknown operator',
        { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] },
        false,
        `${s}.matchExpressions[0].operator`,
        /^Unsupported value "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist"$/,
      ],
      [
        'In without values',
        { matchExpressions: [{ key: 'a', operator: 'In' }] },
        false,
        `${s}.matchExpressions[0].values`,
        /values set can't be empty/,
      ],
      [
        'NotIn with an empty list',
        { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] },
        true,
        `${ns}.matchExpressions[0].values`,
        /values set can't be empty/,
      ],
      [
        'Exists with values',
        { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['b'] }] },
        false,
        `${s}.matchExpressions[0].values`,
        /must be empty for exists/,
      ],
      [
        'an invalid key',
        { matchExpressions: [{ key: 'Bad Key', operator: 'Exists' }] },
        false,
        `${s}.matchExpressions[0].key`,
        /^Invalid value "Bad Key": name part must consist/,
      ],
      [
        'a key with an invalid prefix',
        { matchLabels: { 'Example.com/a': 'b' } },
        false,
        `${s}.matchLabels`,
        /prefix part a lowercase RFC 1123 subdomain/,
      ],
      [
        'a key with two slashes',
        { matchLabels: { 'a/b/c': 'd' } },
        false,
        `${s}.matchLabels`,
        /a qualified name must consist/,
      ],
      [
        'a key with a long name',
        { matchLabels: { ['a'.repeat(64)]: 'b' } },
        false,
        `${s}.matchLabels`,
        /name part must be no more than 63 characters/,
      ],
      [
        'an invalid matchLabels value',
        { matchLabels: { app: 'not valid!' } },
        false,
        `${s}.matchLabels[app]`,
        /^Invalid value "not valid!": a valid label must be an empty string/,
      ],
      [
        'an invalid expression value',
        { matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', '-x'] }] },
        true,
        `${ns}.matchExpressions[0].values[1]`,
        /a valid label must be/,
      ],
      [
        'a value that is too long',
        { matchLabels: { app: 'v'.repeat(64) } },
        true,
        `${ns}.matchLabels[app]`,
        /must be no more than 63 characters/,
      ],
    ];
    it.each(cases)('%s', (_what, selector, namespaced, field, message) => {
      const resources = namespaced ? { ...POD, namespaceSelector: selector } : { ...POD, selector };
      const errors = errorsOf({ any: [{ resources }] });
      expect(errors).toHaveLength(1);
      expect(errors[0]!.field).toBe(field);
      expect(errors[0]!.message).toMatch(message);
    });

    it('accepts valid keys and values, and wildcards Kubernetes would not', () => {
      const result = compileResourceFilters(
        {
          any: [
            {
              resources: {
                ...POD,
                selector: {
                  matchLabels: { 'app.kubernetes.io/name': 'web_1.a', empty: '', '*': '*' },
                  matchExpressions: [{ key: 'example.com/tier', operator: 'NotIn', values: ['A-1'] }],
                },
              },
            },
          ],
        },
        undefined,
        'spec.rules[0]',
      );
      expect(result.ok).toBe(true);
    });
  });
});

describe('checkMatchExcludeConflict, on Kyverno 1.19 test vectors (Test_doesMatchExcludeConflict)', () => {
  const full = (
    over: {
      kinds?: string[];
      name?: string;
      namespaces?: string[];
      memory?: string;
      tier?: string;
      subject?: string;
      clusterRole?: string;
      role?: string;
    } = {},
  ): Match => ({
    resources: {
      kinds: over.kinds ?? ['Pod', 'Namespace'],
      name: over.name ?? 'something',
      namespaces: over.namespaces ?? ['something', 'something1'],
      selector: {
        matchLabels: { memory: over.memory ?? 'high' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: [over.tier ?? 'database'] }],
      },
    },
    subjects: [
      { name: over.subject ?? 'something', kind: 'something', namespace: 'something', apiGroup: 'something' },
      { name: 'something1', kind: 'something1', namespace: 'something1', apiGroup: 'something1' },
    ],
    clusterRoles: [over.clusterRole ?? 'something', 'something1'],
    roles: [over.role ?? 'something', 'something1'],
  });
  const cases: [description: string, match: Match, exclude: Match, conflict: boolean][] = [
    ['Same match and exclude', full(), full(), true],
    ['Failed to exclude kind', full(), full({ kinds: ['Namespace'] }), false],
    ['Failed to exclude name', full(), full({ name: 'something-*' }), false],
    ['Failed to exclude namespace', full(), full({ namespaces: ['something3', 'something1'] }), false],
    ['Failed to exclude labels', full(), full({ memory: 'higha' }), false],
    ['Failed to exclude expression', full(), full({ tier: 'databases' }), false],
    ['Failed to exclude subjects', full(), full({ subject: 'something2' }), false],
    ['Failed to exclude clusterroles', full(), full({ clusterRole: 'something3' }), false],
    ['Failed to exclude roles', full(), full({ role: 'something3' }), false],
    [
      'simple',
      { resources: { kinds: ['Pod', 'Namespace'], name: 'something', namespaces: ['something', 'something1'] } },
      {
        resources: {
          kinds: ['Pod', 'Namespace', 'Job'],
          name: 'some*',
          namespaces: ['something', 'something1', 'something2'],
        },
      },
      true,
    ],
    [
      'simple - fail',
      { resources: { kinds: ['Pod', 'Namespace'], name: 'somxething', namespaces: ['something', 'something1'] } },
      {
        resources: {
          kinds: ['Pod', 'Namespace', 'Job'],
          name: 'some*',
          namespaces: ['something', 'something1', 'something2'],
        },
      },
      false,
    ],
    [
      'empty case',
      { resources: { selector: { matchLabels: { 'allow-deletes': 'false' } } } },
      { clusterRoles: ['random'] },
      false,
    ],
  ];
  it.each(cases)('%s', (_description, match, exclude, conflict) => {
    expect(checkMatchExcludeConflict(match, exclude, 'r')).toEqual(
      conflict ? [{ field: 'r', message: 'Rule is matching an empty set' }] : [],
    );
  });
});
