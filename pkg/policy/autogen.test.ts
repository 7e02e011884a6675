import { parsePolicy, type PolicyResource } from '../api/v1/index.js';
import { AUTOGEN_ANNOTATION, toAutogenControllers, toAutogenRules } from './autogen.js';
import { checkImagePolicy } from './testdata/policies.js';

function policy(overrides: Parameters<typeof checkImagePolicy>[0] = {}, annotations?: Record<string, string>) {
  const object = checkImagePolicy(overrides);
  if (annotations) (object.metadata as Record<string, unknown>)['annotations'] = annotations;
  const parsed = parsePolicy(object);
  if (!parsed.ok) throw new Error(parsed.error.map((e) => e.message).join('; '));
  return parsed.value;
}

function withRule(rule: Record<string, unknown>): PolicyResource {
  const p = policy();
  return { ...p, spec: { ...p.spec, rules: [{ ...p.spec.rules[0]!, ...rule }] } } as PolicyResource;
}

describe('toAutogenRules', () => {
  describe('when a rule matches Pods and no annotation is set', () => {
    const rules = toAutogenRules(policy());

    it('adds one rule for the workload controllers and one for CronJobs', () => {
      expect(rules.map((r) => r.name)).toEqual(['autogen-check-image', 'autogen-cronjob-check-image']);
      expect(rules[0]!.match.resources?.kinds).toEqual([
        'DaemonSet',
        'Deployment',
        'Job',
        'StatefulSet',
        'ReplicaSet',
        'ReplicationController',
      ]);
      expect(rules[1]!.match.resources?.kinds).toEqual(['CronJob']);
    });

    it('copies the verifyImages entries unchanged', () => {
      expect(rules[0]!.verifyImages).toEqual(policy().spec.rules[0]!.verifyImages);
    });
  });

  describe.each([
    ['none', []],
    ['all', ['DaemonSet', 'Deployment', 'Job', 'StatefulSet', 'ReplicaSet', 'ReplicationController', 'CronJob']],
    ['Deployment,CronJob', ['Deployment', 'CronJob']],
    ['Deployment, Bogus', ['Deployment']],
  ])('when the annotation says %j', (value, controllers) => {
    it(`applies to ${controllers.join(', ') || 'no controller'}`, () => {
      expect(toAutogenControllers(policy({}, { [AUTOGEN_ANNOTATION]: value }))).toEqual(controllers);
    });
  });

  describe('when the annotation names only CronJob', () => {
    it('generates only the cronjob rule', () => {
      const rules = toAutogenRules(policy({}, { [AUTOGEN_ANNOTATION]: 'CronJob' }));
      expect(rules.map((r) => r.name)).toEqual(['autogen-cronjob-check-image']);
    });
  });

  describe.each([
    ['a rule selects on names', { match: { resources: { kinds: ['Pod'], names: ['web-*'] } } }],
    ['a rule selects on labels', { match: { resources: { kinds: ['Pod'], selector: { matchLabels: { a: 'b' } } } } }],
    ['a rule mixes Pod with other kinds', { match: { resources: { kinds: ['Pod', 'Service'] } } }],
    ['no rule matches Pod', { match: { resources: { kinds: ['Deployment'] } } }],
    ['a rule generates', { generate: { kind: 'ConfigMap' } }],
  ])('when %s', (_what, rule) => {
    it('generates nothing, as Kyverno’s CanAutoGen says', () => {
      expect(toAutogenRules(withRule(rule))).toEqual([]);
    });
  });

  describe('when the rule reads the Pod spec through a variable', () => {
    it('points the controller rules at the pod template', () => {
      const rules = toAutogenRules(
        withRule({
          preconditions: { all: [{ key: '{{ request.object.spec.hostNetwork }}', operator: 'Equals', value: false }] },
        }),
      );
      expect(JSON.stringify(rules[0]!.preconditions)).toContain('request.object.spec.template.spec.hostNetwork');
      expect(JSON.stringify(rules[1]!.preconditions)).toContain(
        'request.object.spec.jobTemplate.spec.template.spec.hostNetwork',
      );
    });
  });

  describe('when the rule name is long', () => {
    it('truncates generated names to 63 characters', () => {
      const rules = toAutogenRules(withRule({ name: 'r'.repeat(63) }));
      expect(rules.every((r) => r.name.length === 63)).toBe(true);
    });
  });

  describe('when the rule has image extractors', () => {
    it('leaves them out: the built-in extractors cover the controllers', () => {
      const rules = toAutogenRules(withRule({ imageExtractors: { Pod: [{ path: '/spec/x' }] } }));
      expect(rules[0]!.imageExtractors).toBeUndefined();
    });
  });
});
