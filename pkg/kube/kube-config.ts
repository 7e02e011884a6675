// Where the API server is and how to reach it: a kubeconfig file's current context, or the in-cluster service
// account. Read once, at start-up, into a plain value; the client (kube-client.ts) holds the connection.
//
// Ours rather than client-node's KubeConfig: loading that class loads every generated model and API of the library
// (about 45 MiB of resident memory and a second of start-up), and the operator's memory target is 150 MiB. What it
// reads is what client-go's clientcmd reads for the auth methods a cluster hands out today: a bearer token (inline or
// a file, re-read as kubelet rotates it), client certificates, basic auth, and exec credential plugins; the
// deprecated auth-provider plugins are refused by name.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { err, ok, type Result } from '../result/index.js';

/** An exec credential plugin (client.authentication.k8s.io ExecConfig). */
export interface ExecConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly apiVersion: string;
  /** The user.exec field path, for messages. */
  readonly field: string;
}

export type KubeCredentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  /** Re-read every minute: projected service account tokens are rotated on disk. */
  | { readonly kind: 'tokenFile'; readonly path: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'exec'; readonly exec: ExecConfig };

export interface KubeTarget {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  readonly ca?: Buffer;
  readonly clientCert?: Buffer;
  readonly clientKey?: Buffer;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string;
  readonly proxyUrl?: string;
  readonly credentials: KubeCredentials;
  /** The namespace of the context, or of the pod's service account. */
  readonly namespace?: string;
  /** Where this came from, for the start-up log: `kubeconfig /path (context ctx)` or `in-cluster`. */
  readonly source: string;
}

export interface KubeConfigDeps {
  readonly readFile: (path: string) => Buffer;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const DEFAULT_DEPS: KubeConfigDeps = { readFile: (path) => readFileSync(path), env: process.env };

/** The service account files kubelet mounts into every pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster config: the API server from the environment kubelet sets, the pod's service account token. */
export function loadInClusterConfig(deps: KubeConfigDeps = DEFAULT_DEPS): Result<KubeTarget, string> {
  const host = deps.env['KUBERNETES_SERVICE_HOST'];
  const port = deps.env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    return err(
      'not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set): give --kubeconfig or set KUBECONFIG',
    );
  }
  let ca: Buffer;
  try {
    ca = deps.readFile(join(SERVICE_ACCOUNT_DIR, 'ca.crt'));
  } catch (e) {
    return err(`in-cluster CA ${join(SERVICE_ACCOUNT_DIR, 'ca.crt')}: ${(e as Error).message}`);
  }
  let namespace: string | undefined;
  try {
    namespace = deps.readFile(join(SERVICE_ACCOUNT_DIR, 'namespace')).toString('utf8').trim() || undefined;
  } catch {
    // Optional: only the default namespace comes from it.
  }
  return ok({
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca,
    insecureSkipTlsVerify: false,
    credentials: { kind: 'tokenFile', path: join(SERVICE_ACCOUNT_DIR, 'token') },
    ...(namespace ? { namespace } : {}),
    source: 'in-cluster',
  });
}

/** The current context of the kubeconfig at `path`. Every problem names the file and the field. */
export function loadKubeConfigFile(path: string, deps: KubeConfigDeps = DEFAULT_DEPS): Result<KubeTarget, string> {
  let text: string;
  try {
    text = deps.readFile(path).toString('utf8');
  } catch (e) {
    return err(`kubeconfig ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    return err(`kubeconfig ${path}: not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = parseKubeConfig(doc, dirname(path), deps);
  return parsed.ok ? parsed : err(`kubeconfig ${path}: ${parsed.error}`);
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a kubeconfig document; relative file names are read from `base` (the kubeconfig's folder). */
export function parseKubeConfig(
  doc: unknown,
  base: string,
  deps: KubeConfigDeps = DEFAULT_DEPS,
): Result<KubeTarget, string> {
  if (!isObject(doc)) return err('not a kubeconfig (expected a mapping)');
  const contextName = doc['current-context'];
  if (typeof contextName !== 'string' || contextName === '') return err('current-context is not set');
  const context = findNamed(doc, 'contexts', contextName, 'context');
  if (!context.ok) return context;
  const clusterName = context.value['cluster'];
  if (typeof clusterName !== 'string') return err(`contexts[${contextName}].context.cluster is not set`);
  const cluster = findNamed(doc, 'clusters', clusterName, 'cluster');
  if (!cluster.ok) return cluster;
  const userName = context.value['user'];
  const user = typeof userName === 'string' && userName !== '' ? findNamed(doc, 'users', userName, 'user') : ok({});
  if (!user.ok) return user;

  const at = (field: string) => `clusters[${clusterName}].cluster.${field}`;
  const c = cluster.value;
  const server = c['server'];
  if (typeof server !== 'string' || server === '') return err(`${at('server')} is not set`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return err(`${at('server')} ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return err(`${at('server')} ${JSON.stringify(server)}: only https and http are supported`);
  }
  const files = fileReader(base, deps);
  const ca = files.either(c, 'certificate-authority', 'certificate-authority-data', at);
  if (!ca.ok) return ca;
  const skip = c['insecure-skip-tls-verify'];
  if (skip !== undefined && typeof skip !== 'boolean')
    return err(`${at('insecure-skip-tls-verify')} must be true or false`);
  const serverName = c['tls-server-name'];
  const proxyUrl = c['proxy-url'];

  const userAt = (field: string) => `users[${String(userName)}].user.${field}`;
  const u = user.value;
  const cert = files.either(u, 'client-certificate', 'client-certificate-data', userAt);
  if (!cert.ok) return cert;
  const key = files.either(u, 'client-key', 'client-key-data', userAt);
  if (!key.ok) return key;
  if ((cert.value === undefined) !== (key.value === undefined)) {
    return err(`${userAt('client-certificate')} and ${userAt('client-key')} must be given together`);
  }
  const credentials = toCredentials(u, base, userAt);
  if (!credentials.ok) return credentials;
  const namespace = context.value['namespace'];
  return ok({
    server: server.replace(/\/+$/, ''),
    ...(ca.value ? { ca: ca.value } : {}),
    ...(cert.value ? { clientCert: cert.value } : {}),
    ...(key.value ? { clientKey: key.value } : {}),
    insecureSkipTlsVerify: skip === true,
    ...(typeof serverName === 'string' && serverName !== '' ? { tlsServerName: serverName } : {}),
    ...(typeof proxyUrl === 'string' && proxyUrl !== '' ? { proxyUrl } : {}),
    credentials: credentials.value,
    ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}),
    source: `context ${contextName}`,
  });
}

function findNamed(doc: Obj, list: string, name: string, inner: string): Result<Obj, string> {
  const entries = doc[list];
  if (!Array.isArray(entries)) return err(`${list} is missing, so ${JSON.stringify(name)} cannot be found`);
  const entry = entries.find((e): e is Obj => isObject(e) && e['name'] === name);
  if (!entry) return err(`${list} has no entry named ${JSON.stringify(name)}`);
  const value = entry[inner];
  if (value === undefined || value === null) return ok({});
  if (!isObject(value)) return err(`${list}[${name}].${inner} must be a mapping`);
  return ok(value);
}

function fileReader(base: string, deps: KubeConfigDeps) {
  const resolve = (p: string) => (isAbsolute(p) ? p : join(base, p));
  return {
    resolve,
    /** The bytes of `fileField` (a file name) or `dataField` (base64): never both. */
    either(
      o: Obj,
      fileField: string,
      dataField: string,
      at: (f: string) => string,
    ): Result<Buffer | undefined, string> {
      const file = o[fileField];
      const data = o[dataField];
      if (file !== undefined && file !== '' && data !== undefined && data !== '') {
        return err(`${at(fileField)} and ${at(dataField)} are both set; give one`);
      }
      if (typeof data === 'string' && data !== '') {
        const bytes = Buffer.from(data, 'base64');
        if (bytes.length === 0) return err(`${at(dataField)} is not base64`);
        return ok(bytes);
      }
      if (data !== undefined && data !== '' && typeof data !== 'string')
        return err(`${at(dataField)} must be a string`);
      if (typeof file === 'string' && file !== '') {
        try {
          return ok(deps.readFile(resolve(file)));
        } catch (e) {
          return err(`${at(fileField)} ${resolve(file)}: ${(e as Error).message}`);
        }
      }
      if (file !== undefined && file !== '' && typeof file !== 'string')
        return err(`${at(fileField)} must be a string`);
      return ok(undefined);
    },
  };
}

function toCredentials(u: Obj, base: string, at: (f: string) => string): Result<KubeCredentials, string> {
  if (u['auth-provider'] !== undefined) {
    return err(`${at('auth-provider')}: auth-provider plugins are not supported (they are deprecated); use exec`);
  }
  const token = u['token'];
  if (typeof token === 'string' && token !== '') return ok({ kind: 'token', token });
  const tokenFile = u['tokenFile'];
  if (typeof tokenFile === 'string' && tokenFile !== '') {
    return ok({ kind: 'tokenFile', path: isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile) });
  }
  const { username, password } = u;
  if (typeof username === 'string' && username !== '') {
    return ok({ kind: 'basic', username, password: typeof password === 'string' ? password : '' });
  }
  const exec = u['exec'];
  if (exec !== undefined) return parseExec(exec, at('exec'));
  return ok({ kind: 'none' });
}

function parseExec(exec: unknown, field: string): Result<KubeCredentials, string> {
  if (!isObject(exec)) return err(`${field} must be a mapping`);
  const { command, args, env, apiVersion } = exec;
  if (typeof command !== 'string' || command === '') return err(`${field}.command is not set`);
  if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))) {
    return err(`${field}.args must be a list of strings`);
  }
  const vars: Record<string, string> = {};
  if (env !== undefined && env !== null) {
    if (!Array.isArray(env)) return err(`${field}.env must be a list of {name, value}`);
    for (const [i, e] of env.entries()) {
      if (!isObject(e) || typeof e['name'] !== 'string' || typeof e['value'] !== 'string') {
        return err(`${field}.env[${i}] must have a string name and value`);
      }
      vars[e['name']] = e['value'];
    }
  }
  const version = typeof apiVersion === 'string' && apiVersion !== '' ? apiVersion : 'client.authentication.k8s.io/v1';
  if (!/^client\.authentication\.k8s\.io\/(v1|v1beta1)$/.test(version)) {
    return err(`${field}.apiVersion ${JSON.stringify(version)} is not client.authentication.k8s.io/v1 or v1beta1`);
  }
  return ok({
    kind: 'exec',
    exec: { command, args: (args as string[] | undefined) ?? [], env: vars, apiVersion: version, field },
  });
}
