// `imprimatur digest IMAGE`: the digest a reference resolves to, printed as `crane digest` prints it.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseImageRef } from '../pkg/imageref/index.js';
import { parseDockerConfigJson, RegistryClient, type DockerConfig } from '../pkg/oci/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';

export const DIGEST_USAGE = `Usage: imprimatur digest IMAGE [flags]

Prints the digest IMAGE resolves to (the index digest for a multi-platform image), as 'crane digest' does.

Flags:
  --insecure-registry=HOST   speak plain HTTP to HOST (host[:port]); repeatable
  --allow-insecure-registry  skip registries' certificate checks, and use plain HTTP when HTTPS fails (cosign's flag)
  --docker-config=FILE       credentials file (default: $DOCKER_CONFIG/config.json, then ~/.docker/config.json)
  --timeout=SECONDS          overall deadline (default 30)
`;

export interface RegistryFlags {
  readonly insecureRegistries: string[];
  /** RegistryClientOptions.allowInsecureRegistry. */
  readonly allowInsecureRegistry: boolean;
  readonly dockerConfig?: DockerConfig;
  readonly timeoutMs: number;
}

/** Reads the registry flags shared by the commands that talk to registries. */
export function parseRegistryFlags(
  values: {
    'insecure-registry'?: string[];
    'allow-insecure-registry'?: boolean;
    'docker-config'?: string;
    timeout?: string;
  },
  env: Readonly<Record<string, string | undefined>>,
): Result<RegistryFlags, string> {
  const timeout = Number(values.timeout ?? '30');
  if (!Number.isFinite(timeout) || timeout <= 0)
    return err(`--timeout: invalid value ${JSON.stringify(values.timeout)}`);
  const explicit = values['docker-config'];
  const file = explicit ?? join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (explicit)
      return err(`--docker-config: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let dockerConfig: DockerConfig | undefined;
  if (text !== undefined) {
    const parsed = parseDockerConfigJson(text);
    if (!parsed.ok) return err(`${explicit ? '--docker-config' : file}: ${parsed.error}`);
    dockerConfig = parsed.value;
  }
  return ok({
    insecureRegistries: values['insecure-registry'] ?? [],
    allowInsecureRegistry: values['allow-insecure-registry'] === true,
    ...(dockerConfig ? { dockerConfig } : {}),
    timeoutMs: timeout * 1000,
  });
}

export const REGISTRY_FLAG_OPTIONS = {
  'insecure-registry': { type: 'string', multiple: true },
  'allow-insecure-registry': { type: 'boolean' },
  'docker-config': { type: 'string' },
  timeout: { type: 'string' },
} as const;

export async function runDigest(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...REGISTRY_FLAG_OPTIONS, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`imprimatur digest: ${(e as Error).message}\n\n${DIGEST_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(DIGEST_USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`imprimatur digest: expected exactly one IMAGE\n\n${DIGEST_USAGE}`);
    return 2;
  }
  const ref = parseImageRef(parsed.positionals[0]!);
  if (!ref.ok) {
    process.stderr.write(`imprimatur digest: ${ref.error}\n`);
    return 2;
  }
  const flags = parseRegistryFlags(parsed.values, env);
  if (!flags.ok) {
    process.stderr.write(`imprimatur digest: ${flags.error}\n`);
    return 2;
  }
  const client = new RegistryClient({
    insecureRegistries: flags.value.insecureRegistries,
    allowInsecureRegistry: flags.value.allowInsecureRegistry,
    ...(flags.value.dockerConfig ? { credentials: flags.value.dockerConfig } : {}),
  });
  const resolved = await client.resolveDigest(ref.value, { signal: AbortSignal.timeout(flags.value.timeoutMs) });
  if (!resolved.ok) {
    process.stderr.write(`imprimatur digest: ${resolved.error.message}\n`);
    if (resolved.error.detail) process.stderr.write(`  registry detail: ${resolved.error.detail}\n`);
    return 1;
  }
  process.stdout.write(`${resolved.value.digest}\n`);
  return 0;
}
