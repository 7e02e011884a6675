import { compileRuleContext, type CompiledContextEntry } from '../pkg/policy/index.js';
import { err, ok } from '../pkg/result/index.js';
import type { AdmissionRequest } from './admission-review.js';
import { extractImages } from './extract-images.js';
import {
  loadRuleContext,
  MAX_API_CALLS_PER_ADMISSION,
  toBuiltInContext,
  type RuleContextDeps,
} from './rule-context.js';

const REQUEST: AdmissionRequest = {
  uid: 'u',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  namespace: 'team-a',
  operation: 'CREATE',
  userInfo: { username: 'system:serviceaccount:ci:deployer', groups: [] },
  object: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'team-a' },
    spec: { containers: [{ name: 'nginx', image: 'ghcr.io/acme/nginx:1.27' }] },
  },
};

function compiled(entries: unknown[]): CompiledContextEntry[] {
  const problems: string[] = [];
  const result = compileRuleContext(entries, 'spec.rules[0].context', (reason, field, message) =>
    problems.push(`${reason} ${field}: ${message}`),
  );
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return result;
}

const builtIns = () => {
  const images = extractImages('Pod', REQUEST.object);
  if (!images.ok) throw new Error(images.error);
  return toBuiltInContext(REQUEST, images.value.images);
};

const deps = (more: Partial<RuleContextDeps> = {}): RuleContextDeps => ({ now: Date.now, ...more });
const signal = new AbortController().signal;

describe('the built-in variables', () => {
  it('name the request, the service account and the images as Kyverno does', () => {
    const context = builtIns();
    expect(context['serviceAccountName']).toBe('deployer');
    expect(context['serviceAccountNamespace']).toBe('ci');
    expect((context['request'] as { namespace: string }).namespace).toBe('team-a');
    expect(context['images']).toEqual({
      containers: {
        nginx: {
          registry: 'ghcr.io',
          name: 'nginx',
          path: 'acme/nginx',
          tag: '1.27',
          digest: '',
          reference: 'ghcr.io/acme/nginx:1.27',
          referenceWithTag: 'ghcr.io/acme/nginx:1.27',
        },
      },
    });
  });
});

describe('loading a rule context', () => {
  const keys = { metadata: { name: 'keys', namespace: 'team-a', labels: {} }, data: { production: 'PEM' } };

  it('reads a ConfigMap named with variables from the informer', async () => {
    const asked: string[] = [];
    const loaded = await loadRuleContext(
      compiled([{ name: 'keys', configMap: { name: 'keys', namespace: '{{ request.namespace }}' } }]),
      builtIns(),
      deps({ configMap: (ns, name) => (asked.push(`${ns}/${name}`), ok(keys)) }),
      { used: 0 },
      signal,
    );
    expect(asked).toEqual(['team-a/keys']);
    expect(loaded.ok && loaded.value['keys']).toEqual(keys);
  });

  it('fails, in Kyverno’s words, when the ConfigMap does not exist', async () => {
    const loaded = await loadRuleContext(
      compiled([{ name: 'keys', configMap: { name: 'keys', namespace: 'default' } }]),
      builtIns(),
      deps({ configMap: () => err('configmaps "keys" not found in namespace "default"') }),
      { used: 0 },
      signal,
    );
    expect(loaded).toEqual(
      err(
        'failed to load context: failed to retrieve config map for context entry keys: configmaps "keys" not found in namespace "default"',
      ),
    );
  });

  it('gives variables their value, their jmesPath over it, and their default when that is null', async () => {
    const loaded = await loadRuleContext(
      compiled([
        { name: 'team', variable: { value: '{{ request.namespace }}' } },
        { name: 'upper', variable: { value: { n: '{{ team }}' }, jmesPath: 'to_upper(n)' } },
        { name: 'missing', variable: { jmesPath: 'request.object.metadata.labels.tier', default: 'gold' } },
        { name: 'none', variable: { jmesPath: 'request.object.metadata.labels.tier' } },
      ]),
      builtIns(),
      deps(),
      { used: 0 },
      signal,
    );
    if (!loaded.ok) throw new Error(loaded.error);
    expect(loaded.value['team']).toBe('team-a');
    expect(loaded.value['upper']).toBe('TEAM-A');
    expect(loaded.value['missing']).toBe('gold');
    expect(loaded.value['none']).toBeNull();
  });

  it('calls the API server for an apiCall, runs its jmesPath, and stops at the admission’s budget', async () => {
    const paths: string[] = [];
    const apiCall: RuleContextDeps['apiCall'] = (path) => {
      paths.push(path);
      return Promise.resolve(ok({ items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] }));
    };
    const entries = compiled([
      {
        name: 'pods',
        apiCall: { urlPath: '/api/v1/namespaces/{{ request.namespace }}/pods', jmesPath: 'items[].metadata.name' },
      },
    ]);
    const budget = { used: 0 };
    const loaded = await loadRuleContext(entries, builtIns(), deps({ apiCall }), budget, signal);
    expect(loaded.ok && loaded.value['pods']).toEqual(['a', 'b']);
    expect(paths).toEqual(['/api/v1/namespaces/team-a/pods']);
    budget.used = MAX_API_CALLS_PER_ADMISSION;
    const over = await loadRuleContext(entries, builtIns(), deps({ apiCall }), budget, signal);
    expect(over).toEqual(err(expect.stringContaining(`more than ${MAX_API_CALLS_PER_ADMISSION} API calls`)));
    expect(paths).toHaveLength(1);
  });

  it('fails when an API call fails and the entry has no default, and takes the default when it has one', async () => {
    const apiCall: RuleContextDeps['apiCall'] = () => Promise.resolve(err('HTTP 404: not found'));
    const failing = await loadRuleContext(
      compiled([{ name: 'x', apiCall: { urlPath: '/api/v1/namespaces/nope' } }]),
      builtIns(),
      deps({ apiCall }),
      { used: 0 },
      signal,
    );
    expect(failing).toEqual(err(expect.stringContaining('API call to /api/v1/namespaces/nope failed: HTTP 404')));
    const defaulted = await loadRuleContext(
      compiled([{ name: 'x', apiCall: { urlPath: '/api/v1/namespaces/nope', default: 'fallback' } }]),
      builtIns(),
      deps({ apiCall }),
      { used: 0 },
      signal,
    );
    expect(defaulted.ok && defaulted.value['x']).toBe('fallback');
  });
});

describe('compiling a rule context', () => {
  const problems = (entries: unknown[]) => {
    const found: string[] = [];
    compileRuleContext(entries, 'spec.rules[0].context', (reason, field, message) =>
      found.push(`${reason} ${field}: ${message}`),
    );
    return found;
  };

  it.each([
    [[{ configMap: { name: 'k' } }], 'InvalidSpec spec.rules[0].context[0].name: Required value'],
    [
      [{ name: 'k', configMap: { name: 'k' }, variable: { value: 1 } }],
      'InvalidSpec spec.rules[0].context[0]: a context entry needs exactly one of configMap, variable or apiCall',
    ],
    [
      [
        { name: 'k', variable: { value: 1 } },
        { name: 'k', variable: { value: 2 } },
      ],
      'InvalidSpec spec.rules[0].context[1].name: duplicate context entry "k"',
    ],
    [
      [{ name: 'r', imageRegistry: { reference: 'ghcr.io/a/b' } }],
      'Unsupported spec.rules[0].context[0].imageRegistry: context entries of kind imageRegistry are not supported yet',
    ],
    [
      [{ name: 'r', apiCall: { urlPath: '/x', method: 'POST' } }],
      'Unsupported spec.rules[0].context[0].apiCall.method: API calls with method POST are not supported yet',
    ],
    [
      [{ name: 'v', variable: {} }],
      'InvalidSpec spec.rules[0].context[0].variable: a variable needs a value or a jmesPath',
    ],
    [
      [{ name: 'v', variable: { jmesPath: 'a[' } }],
      'InvalidSpec spec.rules[0].context[0].variable.jmesPath: invalid JMESPath expression',
    ],
  ])('refuses %j, naming the field', (entries, problem) => {
    expect(problems(entries as unknown[]).join('\n')).toContain(problem);
  });
});
