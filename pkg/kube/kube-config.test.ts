import { stringify as toYaml } from 'yaml';
import {
  loadInClusterConfig,
  loadKubeConfigFile,
  parseKubeConfig,
  SERVICE_ACCOUNT_DIR,
  type KubeConfigDeps,
  type KubeTarget,
} from './kube-config.js';
import type { Result } from '../result/index.js';

/** A file system of the given files (path → contents); reading any other path fails as ENOENT does. */
function fakeDeps(files: Record<string, string | Buffer> = {}, env: Record<string, string | undefined> = {}) {
  const reads: string[] = [];
  const deps: KubeConfigDeps = {
    readFile: (path) => {
      reads.push(path);
      const content = files[path];
      if (content === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return Buffer.isBuffer(content) ? content : Buffer.from(content);
    },
    env,
  };
  return { deps, reads };
}

type Obj = Record<string, unknown>;

/** A kubeconfig with one context `ctx` joining cluster `c` and user `u`; each part may be changed. */
function kubeconfig(parts: { cluster?: Obj; user?: Obj; context?: Obj; doc?: Obj } = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    contexts: [
      { name: 'other', context: { cluster: 'c', user: 'u', namespace: 'wrong' } },
      { name: 'ctx', context: { cluster: 'c', user: 'u', ...parts.context } },
    ],
    clusters: [
      { name: 'elsewhere', cluster: { server: 'https://elsewhere.example:6443' } },
      { name: 'c', cluster: { server: 'https://api.example:6443', ...parts.cluster } },
    ],
    users: [
      { name: 'someone-else', user: { token: 'not-this-one' } },
      { name: 'u', user: { ...parts.user } },
    ],
    ...parts.doc,
  };
}

const BASE = '/home/me/.kube';

function parsed(doc: unknown, files: Record<string, string | Buffer> = {}): Result<KubeTarget, string> {
  return parseKubeConfig(doc, BASE, fakeDeps(files).deps);
}

function target(doc: unknown, files: Record<string, string | Buffer> = {}): KubeTarget {
  const result = parsed(doc, files);
  if (!result.ok) throw new Error(`expected a target, got the error: ${result.error}`);
  return result.value;
}

function failure(doc: unknown, files: Record<string, string | Buffer> = {}): string {
  const result = parsed(doc, files);
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('parseKubeConfig', () => {
  describe('with a complete current context', () => {
    it('takes the server, namespace and credentials of the current context, not of the others', () => {
      const t = target(kubeconfig({ context: { namespace: 'team' }, user: { token: 'secret-token' } }));
      expect(t).toEqual({
        server: 'https://api.example:6443',
        insecureSkipTlsVerify: false,
        credentials: { kind: 'token', token: 'secret-token' },
        namespace: 'team',
        source: 'context ctx',
      });
    });

    it('drops trailing slashes from the server', () => {
      expect(target(kubeconfig({ cluster: { server: 'https://api.example:6443/prefix//' } })).server).toBe(
        'https://api.example:6443/prefix',
      );
    });

    it('accepts a plain http server', () => {
      expect(target(kubeconfig({ cluster: { server: 'http://127.0.0.1:8080' } })).server).toBe('http://127.0.0.1:8080');
    });

    it('has no namespace when the context gives none', () => {
      expect(target(kubeconfig())).not.toHaveProperty('namespace');
    });

    it('has no credentials when the context names no user', () => {
      const doc = kubeconfig();
      (doc['contexts'] as Obj[])[1] = { name: 'ctx', context: { cluster: 'c' } };
      expect(target(doc).credentials).toEqual({ kind: 'none' });
    });

    it('has no credentials when the user gives none', () => {
      expect(target(kubeconfig()).credentials).toEqual({ kind: 'none' });
    });
  });

  describe('credentials', () => {
    it('reads a bearer token', () => {
      expect(target(kubeconfig({ user: { token: 'abc' } })).credentials).toEqual({ kind: 'token', token: 'abc' });
    });

    it('keeps a relative tokenFile as a path beside the kubeconfig, read later', () => {
      const t = target(kubeconfig({ user: { tokenFile: 'tokens/sa.token' } }));
      expect(t.credentials).toEqual({ kind: 'tokenFile', path: `${BASE}/tokens/sa.token` });
    });

    it('keeps an absolute tokenFile as it is', () => {
      const t = target(kubeconfig({ user: { tokenFile: '/var/run/token' } }));
      expect(t.credentials).toEqual({ kind: 'tokenFile', path: '/var/run/token' });
    });

    it('prefers an inline token to a tokenFile', () => {
      const t = target(kubeconfig({ user: { token: 'inline', tokenFile: '/var/run/token' } }));
      expect(t.credentials).toEqual({ kind: 'token', token: 'inline' });
    });

    it('reads basic auth, with an empty password when none is given', () => {
      expect(target(kubeconfig({ user: { username: 'admin', password: 'pw' } })).credentials).toEqual({
        kind: 'basic',
        username: 'admin',
        password: 'pw',
      });
      expect(target(kubeconfig({ user: { username: 'admin' } })).credentials).toEqual({
        kind: 'basic',
        username: 'admin',
        password: '',
      });
    });

    it('refuses an auth-provider plugin, naming the field', () => {
      const message = failure(kubeconfig({ user: { 'auth-provider': { name: 'gcp' } } }));
      expect(message).toContain('users[u].user.auth-provider');
      expect(message).toContain('not supported');
      expect(message).toContain('exec');
    });

    describe('an exec plugin', () => {
      it('reads the command, args, env and apiVersion', () => {
        const t = target(
          kubeconfig({
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1beta1',
                command: 'aws',
                args: ['eks', 'get-token'],
                env: [{ name: 'AWS_PROFILE', value: 'prod' }],
              },
            },
          }),
        );
        expect(t.credentials).toEqual({
          kind: 'exec',
          exec: {
            command: 'aws',
            args: ['eks', 'get-token'],
            env: { AWS_PROFILE: 'prod' },
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            field: 'users[u].user.exec',
          },
        });
      });

      it('defaults to client.authentication.k8s.io/v1 with no args and no env', () => {
        const t = target(kubeconfig({ user: { exec: { command: 'plugin', env: null } } }));
        expect(t.credentials).toEqual({
          kind: 'exec',
          exec: {
            command: 'plugin',
            args: [],
            env: {},
            apiVersion: 'client.authentication.k8s.io/v1',
            field: 'users[u].user.exec',
          },
        });
      });

      it.each<[string, unknown, string]>([
        ['not a mapping', 'aws', 'users[u].user.exec must be a mapping'],
        ['without a command', { args: [] }, 'users[u].user.exec.command is not set'],
        ['with an empty command', { command: '' }, 'users[u].user.exec.command is not set'],
        ['with args that are not a list', { command: 'x', args: 'a b' }, 'users[u].user.exec.args must be a list'],
        ['with args that are not strings', { command: 'x', args: ['a', 1] }, 'users[u].user.exec.args must be a list'],
        ['with env that is not a list', { command: 'x', env: { A: 'b' } }, 'users[u].user.exec.env must be a list'],
        [
          'with an env entry without a value',
          { command: 'x', env: [{ name: 'A', value: 'b' }, { name: 'B' }] },
          'users[u].user.exec.env[1] must have a string name and value',
        ],
        [
          'with an env entry that is not a mapping',
          { command: 'x', env: ['A=b'] },
          'users[u].user.exec.env[0] must have a string name and value',
        ],
        [
          'with an unknown apiVersion',
          { command: 'x', apiVersion: 'client.authentication.k8s.io/v1alpha1' },
          'users[u].user.exec.apiVersion "client.authentication.k8s.io/v1alpha1" is not',
        ],
      ])('is refused %s', (_what, exec, message) => {
        expect(failure(kubeconfig({ user: { exec } }))).toContain(message);
      });
    });
  });

  describe('client certificates', () => {
    const CERT = '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n';
    const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n';

    it('reads the certificate and key from files, relative to the kubeconfig folder', () => {
      const t = target(kubeconfig({ user: { 'client-certificate': 'me.crt', 'client-key': '/keys/me.key' } }), {
        [`${BASE}/me.crt`]: CERT,
        '/keys/me.key': KEY,
      });
      expect(t.clientCert?.toString()).toBe(CERT);
      expect(t.clientKey?.toString()).toBe(KEY);
      expect(t.credentials).toEqual({ kind: 'none' });
    });

    it('decodes the -data forms from base64', () => {
      const t = target(
        kubeconfig({ user: { 'client-certificate-data': b64(CERT), 'client-key-data': b64(KEY), token: 't' } }),
      );
      expect(t.clientCert?.toString()).toBe(CERT);
      expect(t.clientKey?.toString()).toBe(KEY);
      expect(t.credentials).toEqual({ kind: 'token', token: 't' });
    });

    it('refuses a certificate given both as a file and as data', () => {
      const message = failure(
        kubeconfig({
          user: { 'client-certificate': 'me.crt', 'client-certificate-data': b64(CERT), 'client-key-data': b64(KEY) },
        }),
        { [`${BASE}/me.crt`]: CERT },
      );
      expect(message).toBe(
        'users[u].user.client-certificate and users[u].user.client-certificate-data are both set; give one',
      );
    });

    it('refuses a key given both as a file and as data', () => {
      const message = failure(
        kubeconfig({
          user: { 'client-certificate-data': b64(CERT), 'client-key': 'me.key', 'client-key-data': b64(KEY) },
        }),
      );
      expect(message).toContain('users[u].user.client-key and users[u].user.client-key-data are both set');
    });

    it('refuses a certificate without a key', () => {
      expect(failure(kubeconfig({ user: { 'client-certificate-data': b64(CERT) } }))).toBe(
        'users[u].user.client-certificate and users[u].user.client-key must be given together',
      );
    });

    it('refuses a key without a certificate', () => {
      expect(failure(kubeconfig({ user: { 'client-key-data': b64(KEY) } }))).toContain('must be given together');
    });

    it('names the field and the resolved path when the certificate file cannot be read', () => {
      const message = failure(kubeconfig({ user: { 'client-certificate': 'gone.crt', 'client-key-data': b64(KEY) } }));
      expect(message).toContain(`users[u].user.client-certificate ${BASE}/gone.crt: ENOENT`);
    });

    it('refuses data that is not base64', () => {
      expect(
        failure(kubeconfig({ user: { 'client-certificate-data': '!!!!', 'client-key-data': b64(KEY) } })),
      ).toContain('users[u].user.client-certificate-data is not base64');
    });

    it('refuses a file name or data that is not a string', () => {
      expect(failure(kubeconfig({ user: { 'client-certificate': 42, 'client-key-data': b64(KEY) } }))).toBe(
        'users[u].user.client-certificate must be a string',
      );
      expect(failure(kubeconfig({ user: { 'client-certificate-data': ['x'], 'client-key-data': b64(KEY) } }))).toBe(
        'users[u].user.client-certificate-data must be a string',
      );
    });
  });

  describe('the cluster', () => {
    const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';

    it('reads the CA from a file relative to the kubeconfig folder', () => {
      const t = target(kubeconfig({ cluster: { 'certificate-authority': 'ca.crt' } }), { [`${BASE}/ca.crt`]: CA });
      expect(t.ca?.toString()).toBe(CA);
    });

    it('reads the CA from data', () => {
      expect(target(kubeconfig({ cluster: { 'certificate-authority-data': b64(CA) } })).ca?.toString()).toBe(CA);
    });

    it('refuses a CA given both ways', () => {
      expect(
        failure(kubeconfig({ cluster: { 'certificate-authority': 'ca.crt', 'certificate-authority-data': b64(CA) } }), {
          [`${BASE}/ca.crt`]: CA,
        }),
      ).toContain('clusters[c].cluster.certificate-authority and clusters[c].cluster.certificate-authority-data');
    });

    it('names the field and path when the CA file cannot be read', () => {
      expect(failure(kubeconfig({ cluster: { 'certificate-authority': '/etc/ca.pem' } }))).toContain(
        'clusters[c].cluster.certificate-authority /etc/ca.pem: ENOENT',
      );
    });

    it('reads insecure-skip-tls-verify, tls-server-name and proxy-url', () => {
      const t = target(
        kubeconfig({
          cluster: {
            'insecure-skip-tls-verify': true,
            'tls-server-name': 'kubernetes.default',
            'proxy-url': 'http://proxy.example:3128',
          },
        }),
      );
      expect(t.insecureSkipTlsVerify).toBe(true);
      expect(t.tlsServerName).toBe('kubernetes.default');
      expect(t.proxyUrl).toBe('http://proxy.example:3128');
    });

    it('leaves out an empty tls-server-name and proxy-url', () => {
      const t = target(kubeconfig({ cluster: { 'tls-server-name': '', 'proxy-url': '' } }));
      expect(t).not.toHaveProperty('tlsServerName');
      expect(t).not.toHaveProperty('proxyUrl');
    });

    it('refuses insecure-skip-tls-verify that is not a boolean', () => {
      expect(failure(kubeconfig({ cluster: { 'insecure-skip-tls-verify': 'true' } }))).toBe(
        'clusters[c].cluster.insecure-skip-tls-verify must be true or false',
      );
    });

    it('refuses a missing or empty server', () => {
      const doc = kubeconfig();
      (doc['clusters'] as Obj[])[1] = { name: 'c', cluster: {} };
      expect(failure(doc)).toBe('clusters[c].cluster.server is not set');
      expect(failure(kubeconfig({ cluster: { server: '' } }))).toBe('clusters[c].cluster.server is not set');
    });

    it('refuses a server that is not a URL', () => {
      expect(failure(kubeconfig({ cluster: { server: 'not a url' } }))).toBe(
        'clusters[c].cluster.server "not a url" is not a URL',
      );
    });

    it('refuses a scheme other than http and https', () => {
      expect(failure(kubeconfig({ cluster: { server: 'unix:///var/run/k8s.sock' } }))).toBe(
        'clusters[c].cluster.server "unix:///var/run/k8s.sock": only https and http are supported',
      );
    });
  });

  describe('a document that does not lead to a cluster', () => {
    it.each<[string, unknown]>([
      ['a list', []],
      ['a string', 'apiVersion: v1'],
      ['null', null],
    ])('refuses %s as not a mapping', (_what, doc) => {
      expect(failure(doc)).toBe('not a kubeconfig (expected a mapping)');
    });

    it('refuses a document without a current-context', () => {
      expect(failure(kubeconfig({ doc: { 'current-context': undefined } }))).toBe('current-context is not set');
      expect(failure(kubeconfig({ doc: { 'current-context': '' } }))).toBe('current-context is not set');
    });

    it('refuses a current-context that names no context', () => {
      expect(failure(kubeconfig({ doc: { 'current-context': 'nope' } }))).toBe('contexts has no entry named "nope"');
    });

    it('refuses a document without contexts', () => {
      expect(failure(kubeconfig({ doc: { contexts: undefined } }))).toBe(
        'contexts is missing, so "ctx" cannot be found',
      );
    });

    it('refuses a context without a cluster', () => {
      const doc = kubeconfig();
      (doc['contexts'] as Obj[])[1] = { name: 'ctx', context: { user: 'u' } };
      expect(failure(doc)).toBe('contexts[ctx].context.cluster is not set');
    });

    it('refuses a context that is not a mapping', () => {
      const doc = kubeconfig();
      (doc['contexts'] as Obj[])[1] = { name: 'ctx', context: 'c' };
      expect(failure(doc)).toBe('contexts[ctx].context must be a mapping');
    });

    it('refuses a context whose cluster is not listed', () => {
      expect(failure(kubeconfig({ context: { cluster: 'gone' } }))).toBe('clusters has no entry named "gone"');
    });

    it('refuses a context whose user is not listed', () => {
      expect(failure(kubeconfig({ context: { user: 'gone' } }))).toBe('users has no entry named "gone"');
    });

    it('refuses a document without users when the context names one', () => {
      expect(failure(kubeconfig({ doc: { users: undefined } }))).toBe('users is missing, so "u" cannot be found');
    });
  });
});

describe('loadKubeConfigFile', () => {
  const PATH = '/home/me/.kube/config';

  it('reads the file, and resolves relative files against its folder', () => {
    const yaml = toYaml(kubeconfig({ cluster: { 'certificate-authority': 'ca.crt' }, user: { tokenFile: 't' } }));
    const { deps, reads } = fakeDeps({ [PATH]: yaml, '/home/me/.kube/ca.crt': 'CA' });
    const result = loadKubeConfigFile(PATH, deps);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.ca?.toString()).toBe('CA');
    expect(result.value.credentials).toEqual({ kind: 'tokenFile', path: '/home/me/.kube/t' });
    expect(reads).toEqual([PATH, '/home/me/.kube/ca.crt']);
  });

  it('names the path when the file cannot be read', () => {
    const result = loadKubeConfigFile('/nowhere/config', fakeDeps().deps);
    expect(result).toEqual({
      ok: false,
      error: "kubeconfig /nowhere/config: ENOENT: no such file or directory, open '/nowhere/config'",
    });
  });

  it('names the path when the file is not YAML', () => {
    const result = loadKubeConfigFile(PATH, fakeDeps({ [PATH]: 'clusters: [\n  - {name: "c"' }).deps);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^kubeconfig \/home\/me\/\.kube\/config: not YAML: /);
    expect(result.error).not.toContain('\n');
  });

  it('names the path when the YAML is not a mapping', () => {
    expect(loadKubeConfigFile(PATH, fakeDeps({ [PATH]: '- a\n- b\n' }).deps)).toEqual({
      ok: false,
      error: `kubeconfig ${PATH}: not a kubeconfig (expected a mapping)`,
    });
  });

  it('names the path in front of a field error', () => {
    const yaml = toYaml(kubeconfig({ cluster: { server: 'ftp://x' } }));
    const result = loadKubeConfigFile(PATH, fakeDeps({ [PATH]: yaml }).deps);
    expect(result).toEqual({
      ok: false,
      error: `kubeconfig ${PATH}: clusters[c].cluster.server "ftp://x": only https and http are supported`,
    });
  });
});

describe('loadInClusterConfig', () => {
  const CA_PATH = `${SERVICE_ACCOUNT_DIR}/ca.crt`;
  const NS_PATH = `${SERVICE_ACCOUNT_DIR}/namespace`;
  const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('reaches the service host with the pod’s CA and its rotated token file', () => {
    const result = loadInClusterConfig(fakeDeps({ [CA_PATH]: 'CA', [NS_PATH]: 'imprimatur\n' }, env).deps);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toEqual({
      server: 'https://10.96.0.1:443',
      ca: Buffer.from('CA'),
      insecureSkipTlsVerify: false,
      credentials: { kind: 'tokenFile', path: `${SERVICE_ACCOUNT_DIR}/token` },
      namespace: 'imprimatur',
      source: 'in-cluster',
    });
  });

  it('brackets an IPv6 service host', () => {
    const result = loadInClusterConfig(
      fakeDeps({ [CA_PATH]: 'CA' }, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }).deps,
    );
    expect(result.ok && result.value.server).toBe('https://[fd00::1]:443');
    expect(result.ok && new URL(result.value.server).hostname).toBe('[fd00::1]');
  });

  it.each<[string, Record<string, string | undefined>]>([
    ['no host', { KUBERNETES_SERVICE_PORT: '443' }],
    ['no port', { KUBERNETES_SERVICE_HOST: '10.96.0.1' }],
    ['empty values', { KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' }],
  ])('says it is not in a cluster when the environment has %s', (_what, partial) => {
    const { deps, reads } = fakeDeps({ [CA_PATH]: 'CA' }, partial);
    const result = loadInClusterConfig(deps);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContain('not running in a cluster');
    expect(result.error).toContain('--kubeconfig');
    expect(reads).toEqual([]);
  });

  it('names the CA path when it cannot be read', () => {
    expect(loadInClusterConfig(fakeDeps({}, env).deps)).toEqual({
      ok: false,
      error: `in-cluster CA ${CA_PATH}: ENOENT: no such file or directory, open '${CA_PATH}'`,
    });
  });

  it('has no namespace when the namespace file is missing or empty', () => {
    const missing = loadInClusterConfig(fakeDeps({ [CA_PATH]: 'CA' }, env).deps);
    expect(missing.ok).toBe(true);
    expect(missing.ok && missing.value).not.toHaveProperty('namespace');
    const empty = loadInClusterConfig(fakeDeps({ [CA_PATH]: 'CA', [NS_PATH]: '  \n' }, env).deps);
    expect(empty.ok).toBe(true);
    expect(empty.ok && empty.value).not.toHaveProperty('namespace');
  });
});
