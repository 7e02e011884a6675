import { parseDockerConfigJson, type DockerConfig } from '../pkg/oci/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';
import { toAdmissionCredentials, type AdmissionCredentialsInput } from './registry-credentials.js';

const SECRET_PASSWORD = 'ghp_NeverQuoteThisInAProblem00000000001';

/** A parsed config.json with one password per registry, as a pull Secret would hold it. */
function config(passwords: Record<string, string>): DockerConfig {
  const auths = Object.fromEntries(
    Object.entries(passwords).map(([host, password]) => [host, { username: 'u', password }]),
  );
  const parsed = parseDockerConfigJson(JSON.stringify({ auths }));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** A lookup over namespace/name → Secret; the calls it receives are recorded. */
function lookupOver(secrets: Record<string, Result<DockerConfig, string>>) {
  const calls: string[] = [];
  const lookup = (namespace: string, name: string) => {
    calls.push(`${namespace}/${name}`);
    return secrets[`${namespace}/${name}`];
  };
  return { lookup, calls };
}

function input(overrides: Partial<AdmissionCredentialsInput>): AdmissionCredentialsInput {
  return {
    operatorNamespace: 'imprimatur-system',
    operatorPullSecrets: [],
    podNamespace: 'team-a',
    podPullSecrets: [],
    ruleSecrets: [],
    lookup: () => undefined,
    ...overrides,
  };
}

describe('toAdmissionCredentials', () => {
  describe('when nothing names a pull Secret', () => {
    it('gives a config with no credentials, and no problems', () => {
      const { credentials, problems } = toAdmissionCredentials(input({}));
      expect(credentials.lookup('ghcr.io')).toBeUndefined();
      expect(problems).toEqual([]);
    });
  });

  describe('when a rule names Secrets', () => {
    it("reads a bare name in the operator's namespace and namespace/name where it says", () => {
      const { lookup, calls } = lookupOver({
        'imprimatur-system/regcred': ok(config({ 'ghcr.io': 'from-operator-ns' })),
        'shared/mirror': ok(config({ 'quay.io': 'from-shared' })),
      });
      const { credentials, problems } = toAdmissionCredentials(
        input({ ruleSecrets: ['regcred', 'shared/mirror'], lookup }),
      );
      expect(calls).toEqual(['imprimatur-system/regcred', 'shared/mirror']);
      expect(credentials.lookup('ghcr.io')?.password).toBe('from-operator-ns');
      expect(credentials.lookup('quay.io')?.password).toBe('from-shared');
      expect(problems).toEqual([]);
    });

    it('reports a reference that is neither name nor namespace/name, and looks nothing up for it', () => {
      const { lookup, calls } = lookupOver({});
      const { problems } = toAdmissionCredentials(input({ ruleSecrets: ['a/b/c', '/name', 'ns/', ''], lookup }));
      expect(calls).toEqual([]);
      expect(problems).toEqual([
        'imageRegistryCredentials.secrets entry "a/b/c" is not a name or namespace/name',
        'imageRegistryCredentials.secrets entry "/name" is not a name or namespace/name',
        'imageRegistryCredentials.secrets entry "ns/" is not a name or namespace/name',
        'imageRegistryCredentials.secrets entry "" is not a name or namespace/name',
      ]);
    });
  });

  describe('when several sources have credentials for the same registry', () => {
    const { lookup } = lookupOver({
      'imprimatur-system/rule-secret': ok(config({ 'ghcr.io': 'rule' })),
      'team-a/pod-secret': ok(config({ 'ghcr.io': 'pod', 'quay.io': 'pod' })),
      'imprimatur-system/regcred': ok(
        config({ 'ghcr.io': 'operator', 'quay.io': 'operator', 'docker.io': 'operator' }),
      ),
    });
    const { credentials } = toAdmissionCredentials(
      input({ ruleSecrets: ['rule-secret'], podPullSecrets: ['pod-secret'], operatorPullSecrets: ['regcred'], lookup }),
    );

    it("uses the rule's Secret first", () => {
      expect(credentials.lookup('ghcr.io')?.password).toBe('rule');
    });

    it("uses the Pod's own Secret before the operator's", () => {
      expect(credentials.lookup('quay.io')?.password).toBe('pod');
    });

    it("falls back to the operator's --imagePullSecrets for a registry no other Secret covers", () => {
      expect(credentials.lookup('docker.io')?.password).toBe('operator');
    });

    it('matches registries by exact host only', () => {
      expect(credentials.lookup('ghcr.io.evil.example')).toBeUndefined();
      expect(credentials.lookup('evil.example')).toBeUndefined();
    });
  });

  describe("when the Pod's Secrets are looked up", () => {
    it("looks them up in the Pod's namespace, and the operator's in the operator's", () => {
      const { lookup, calls } = lookupOver({});
      toAdmissionCredentials(input({ podPullSecrets: ['regcred'], operatorPullSecrets: ['regcred'], lookup }));
      expect(calls).toEqual(['team-a/regcred', 'imprimatur-system/regcred']);
    });

    it('skips empty names, as the kubelet does', () => {
      const { lookup, calls } = lookupOver({});
      const { problems } = toAdmissionCredentials(input({ podPullSecrets: [''], operatorPullSecrets: [''], lookup }));
      expect(calls).toEqual([]);
      expect(problems).toEqual([]);
    });
  });

  describe('when the same Secret is named more than once', () => {
    it('looks it up once and reports any problem with it once', () => {
      const { lookup, calls } = lookupOver({});
      const { problems } = toAdmissionCredentials(
        input({
          operatorNamespace: 'team-a',
          ruleSecrets: ['regcred', 'team-a/regcred'],
          podPullSecrets: ['regcred'],
          operatorPullSecrets: ['regcred'],
          lookup,
        }),
      );
      expect(calls).toEqual(['team-a/regcred']);
      expect(problems).toHaveLength(1);
    });
  });

  describe('when a Secret is missing', () => {
    it('reports it by namespace/name and source, and uses the others', () => {
      const { lookup } = lookupOver({ 'imprimatur-system/regcred': ok(config({ 'ghcr.io': 'operator' })) });
      const { credentials, problems } = toAdmissionCredentials(
        input({ podPullSecrets: ['gone'], operatorPullSecrets: ['regcred'], lookup }),
      );
      expect(credentials.lookup('ghcr.io')?.password).toBe('operator');
      expect(problems).toEqual([
        'pull Secret team-a/gone (from the Pod) not found: there is no Secret of type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg by that name',
      ]);
    });
  });

  describe('when a Secret cannot be used', () => {
    it("reports the store's reason, naming the Secret, and never its content", () => {
      const { lookup } = lookupOver({
        'shared/broken': err('docker config.json is not valid JSON'),
        'imprimatur-system/huge': err('its data (70000 bytes) is over the 64 KiB read from a pull Secret'),
        'team-a/fine': ok(config({ 'ghcr.io': SECRET_PASSWORD })),
      });
      const { credentials, problems } = toAdmissionCredentials(
        input({ ruleSecrets: ['shared/broken'], podPullSecrets: ['fine'], operatorPullSecrets: ['huge'], lookup }),
      );
      expect(credentials.lookup('ghcr.io')?.password).toBe(SECRET_PASSWORD);
      expect(problems).toEqual([
        'pull Secret shared/broken (from imageRegistryCredentials.secrets) not used: docker config.json is not valid JSON',
        'pull Secret imprimatur-system/huge (from --imagePullSecrets) not used: its data (70000 bytes) is over the 64 KiB read from a pull Secret',
      ]);
      expect(problems.join('\n')).not.toContain(SECRET_PASSWORD);
    });
  });

  describe('when a name carries control characters', () => {
    it('neutralises them in the problem, so a log line cannot be forged', () => {
      const { problems } = toAdmissionCredentials(input({ ruleSecrets: ['ns/x\nlevel=error forged'] }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).not.toContain('\n');
    });
  });
});
