// The container tools the e2e tests drive (crane, cosign, cosign2, and our own CLI), all with the environment's
// registry credentials, and a helper that pushes an image with a unique digest.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TOOLS_BIN, type Environment } from './environment.js';
import { runCommand, type CommandResult } from './run.js';

export interface RegistryTools {
  /** Runs a tool from .tools/bin (crane, cosign, cosign2) with the registries' credentials. */
  tool(name: string, args: readonly string[], extraEnv?: Record<string, string>): Promise<CommandResult>;
  /** Runs bin/imprimatur with the registries' credentials. */
  imprimatur(args: readonly string[]): Promise<CommandResult>;
  /**
   * Pushes a one-layer image with random content to host/repository:tag; returns its reference by digest. crane
   * runs with `extraEnv` added (SSL_CERT_FILE for a registry with a certificate of its own).
   */
  pushRandomImage(host: string, repository: string, tag?: string, extraEnv?: Record<string, string>): Promise<string>;
}

export function registryTools(env: Environment, work: () => string): RegistryTools {
  const dockerConfig = env.vars['REGISTRY_DOCKER_CONFIG']!;
  const tool = (name: string, args: readonly string[], extraEnv: Record<string, string> = {}) =>
    runCommand(join(TOOLS_BIN, name), args, {
      env: { ...process.env, DOCKER_CONFIG: dockerConfig, COSIGN_PASSWORD: 'e2e', COSIGN_YES: 'true', ...extraEnv },
    });
  return {
    tool,
    imprimatur: (args) =>
      runCommand(join(ROOT, 'bin', 'imprimatur'), args, { env: { ...process.env, DOCKER_CONFIG: dockerConfig } }),
    async pushRandomImage(host, repository, tag = 'v1', extraEnv = {}) {
      const dir = mkdtempSync(join(work(), 'img-'));
      writeFileSync(join(dir, 'blob'), randomBytes(2048));
      const tar = await runCommand('tar', ['-C', dir, '-cf', join(dir, 'layer.tar'), 'blob']);
      if (tar.code !== 0) throw new Error(`tar failed: ${tar.stderr}`);
      const pushed = await tool(
        'crane',
        ['append', '--oci-empty-base', '-f', join(dir, 'layer.tar'), '-t', `${host}/${repository}:${tag}`],
        extraEnv,
      );
      if (pushed.code !== 0) throw new Error(`crane append failed: ${pushed.stderr}`);
      return pushed.stdout.trim();
    },
  };
}
