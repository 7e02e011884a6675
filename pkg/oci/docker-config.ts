// Registry credentials from Docker's client configuration, in the two shapes Kubernetes stores in Secrets:
//   kubernetes.io/dockerconfigjson — ~/.docker/config.json, {"auths": {"<registry>": {...}}}
//   kubernetes.io/dockercfg        — the legacy ~/.dockercfg, the same registry map at top level
// (https://kubernetes.io/docs/concepts/configuration/secret/#docker-config-secrets). Entry fields follow
// Docker's AuthConfig (https://github.com/docker/cli/blob/master/cli/config/types/authconfig.go) and how the
// kubelet reads them (https://github.com/kubernetes/kubernetes/blob/master/pkg/credentialprovider/config.go).
// These files hold secrets: no error message here ever quotes a value, only registry keys and field names.

import { normaliseRegistryHost } from '../imageref/index.js';
import { err, ok, type Result } from '../result/index.js';

export interface RegistryCredentials {
  readonly username?: string;
  readonly password?: string;
  readonly identityToken?: string;
  readonly registryToken?: string;
}

export interface DockerConfig {
  /** Credentials for a registry host (`ghcr.io`, `localhost:5000`, `docker.io`), or undefined if there are none. */
  lookup(registry: string): RegistryCredentials | undefined;
}

/** Docker Hub answers to several names; configs written by different tools use different ones for it. */
const DOCKER_HUB_HOST = 'docker.io';
const DOCKER_HUB_ALIASES: readonly string[] = Object.freeze(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * Parses a config.json, or the `.dockerconfigjson` of a Secret. A missing `auths` is an empty config: Docker
 * writes none when every registry's credentials live in `credsStore`/`credHelpers`, which we cannot run and ignore.
 */
export function parseDockerConfigJson(text: string): Result<DockerConfig, string> {
  const parsed = parseJsonObject(text, 'docker config.json');
  if (!parsed.ok) return parsed;
  const auths = parsed.value['auths'];
  if (auths === undefined) return ok(createDockerConfig(new Map()));
  if (!isPlainObject(auths)) return err('docker config.json: "auths" is not an object');
  return parseAuths(auths, 'docker config.json');
}

/** Parses a legacy `.dockercfg`, the format of `kubernetes.io/dockercfg` Secrets: registry keys at top level. */
export function parseDockerCfg(text: string): Result<DockerConfig, string> {
  const parsed = parseJsonObject(text, '.dockercfg');
  if (!parsed.ok) return parsed;
  return parseAuths(parsed.value, '.dockercfg');
}

/**
 * Combines configs, such as a pod's several imagePullSecrets, into one; for each registry the first config
 * with credentials for it wins, as the kubelet tries pull secrets in order.
 */
export function mergeDockerConfigs(configs: readonly DockerConfig[]): DockerConfig {
  const snapshot = [...configs];
  return {
    lookup(registry) {
      for (const config of snapshot) {
        const credentials = config.lookup(registry);
        if (credentials !== undefined) return credentials;
      }
      return undefined;
    },
  };
}

function parseJsonObject(text: string, source: string): Result<Record<string, unknown>, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // V8's SyntaxError quotes the text around the fault, which may be a password: say nothing more than this.
    return err(`${source} is not valid JSON`);
  }
  if (!isPlainObject(value)) return err(`${source} is not a JSON object`);
  return ok(value);
}

function parseAuths(auths: Record<string, unknown>, source: string): Result<DockerConfig, string> {
  const byHost = new Map<string, RegistryCredentials>();
  for (const [key, entry] of Object.entries(auths)) {
    const host = normaliseRegistryKey(key);
    if (host === '') return err(`${source}: registry key ${JSON.stringify(key)} has no host`);
    const credentials = parseEntry(entry, `${source}: registry ${JSON.stringify(key)}`);
    if (!credentials.ok) return credentials;
    // Docker Desktop leaves an empty entry per registry whose secret is in its credential store; such an entry
    // must not shadow real credentials for the same registry in a later pull secret.
    if (credentials.value === undefined) continue;
    // Several keys can name one registry (`https://index.docker.io/v1/` and `docker.io`); the first one written wins.
    if (!byHost.has(host)) byHost.set(host, credentials.value);
  }
  return ok(createDockerConfig(byHost));
}

function createDockerConfig(byHost: ReadonlyMap<string, RegistryCredentials>): DockerConfig {
  return { lookup: (registry) => byHost.get(normaliseRegistryKey(registry)) };
}

/** Reads one registry entry; undefined when it carries no credentials at all. `where` names it in errors. */
function parseEntry(entry: unknown, where: string): Result<RegistryCredentials | undefined, string> {
  if (!isPlainObject(entry)) return err(`${where} is not an object`);
  const fields: Partial<Record<'auth' | 'username' | 'password' | 'identitytoken' | 'registrytoken', string>> = {};
  for (const name of ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const) {
    const value = entry[name];
    // Go decodes null into an empty string, so Docker and the kubelet treat it as absent; so do we.
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') return err(`${where}: "${name}" is not a string`);
    fields[name] = value;
  }

  let { username, password } = fields;
  // `auth` wins over `username`/`password`, as in both Docker and the kubelet; `kubectl create secret
  // docker-registry` writes all three, consistently.
  if (fields.auth !== undefined) {
    const decoded = decodeAuth(fields.auth, where);
    if (!decoded.ok) return decoded;
    ({ username, password } = decoded.value);
  }
  const credentials: RegistryCredentials = {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(fields.identitytoken === undefined ? {} : { identityToken: fields.identitytoken }),
    ...(fields.registrytoken === undefined ? {} : { registryToken: fields.registrytoken }),
  };
  return ok(Object.keys(credentials).length === 0 ? undefined : Object.freeze(credentials));
}

/**
 * Decodes `auth`, the base64 of `username:password`. The username ends at the first ':' (RFC 7617 §2 forbids one
 * in it); the password may contain more. NULs around the password are trimmed, as Docker and the kubelet do.
 */
function decodeAuth(auth: string, where: string): Result<{ username: string; password: string }, string> {
  // Buffer's decoder skips characters that are not base64 and would turn garbage into a wrong password silently;
  // check the alphabet and padding first, as Go's strict decoder does.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/.test(auth)) {
    return err(`${where}: "auth" is not valid base64`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(auth, 'base64'));
  } catch {
    return err(`${where}: "auth" does not decode to UTF-8 text`);
  }
  const colon = text.indexOf(':');
  if (colon < 0) return err(`${where}: "auth" is not of the form username:password`);
  return ok({ username: text.slice(0, colon), password: trimNul(text.slice(colon + 1)) });
}

function trimNul(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s[start] === '\0') start++;
  while (end > start && s[end - 1] === '\0') end--;
  return s.slice(start, end);
}

/**
 * Reduces a registry key or a lookup to host[:port]: keys may be bare hosts (`ghcr.io`), host:port, or URLs
 * (`https://index.docker.io/v1/`, `http://localhost:5000/v2/`). Hosts are case-insensitive; paths are dropped,
 * since we match whole registries, never repositories. Docker Hub's aliases all become `docker.io`.
 */
function normaliseRegistryKey(key: string): string {
  let rest = key.trim();
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  // Normalised as image references are (lower case, no :443), so a key matches the registry whichever way either
  // spells it.
  const host = normaliseRegistryHost(slash < 0 ? rest : rest.slice(0, slash));
  return DOCKER_HUB_ALIASES.includes(host) ? DOCKER_HUB_HOST : host;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
