// The `imprimatur` command.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { flagHelp } from './config.js';

const USAGE = `imprimatur: admits container images only with valid cosign signatures, and pins them to digests.

Usage:
  imprimatur run [flags]     run the operator and the admission webhook
  imprimatur digest IMAGE    print the digest IMAGE resolves to, as crane digest does
  imprimatur verify-image IMAGE --key FILE
                             verify IMAGE's cosign signatures, as admission does
  imprimatur verify-attestation IMAGE --key FILE --type TYPE [--policy FILE]
                             verify IMAGE's cosign attestations and their conditions, as admission does
  imprimatur version         print the version
  imprimatur --help          show this help

Run 'imprimatur COMMAND --help' for the flags of a command.
`;

export async function cli(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    case 'version':
    case '--version':
      process.stdout.write(`imprimatur ${readVersion()} (node ${process.versions.node})\n`);
      return 0;
    case 'run':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`Usage: imprimatur run [flags]\n\nFlags:\n${flagHelp()}\n`);
        return 0;
      }
      // Loaded only for run, so that version and help stay instant.
      return (await import('./main.js')).runManager(rest);
    case 'verify-image':
      return (await import('./verify-image.js')).runVerifyImage(rest, process.env);
    case 'verify-attestation':
      return (await import('./verify-attestation.js')).runVerifyAttestation(rest, process.env);
    case 'digest':
      return (await import('./digest.js')).runDigest(rest, process.env);
    default:
      process.stderr.write(`imprimatur: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

/** The version in the package.json above this file, wherever the file was compiled to. */
function readVersion(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'imprimatur' && pkg.version) return pkg.version;
    } catch {
      // not here; look further up
    }
  }
  return 'unknown';
}
