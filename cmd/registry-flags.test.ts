import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { parseRegistryFlags, REGISTRY_FLAG_OPTIONS } from './digest.js';

/** No docker config: a folder that does not exist. */
const ENV = { DOCKER_CONFIG: join(tmpdir(), 'imprimatur-no-such-docker-config') };

function flagsOf(...args: string[]) {
  const { values } = parseArgs({ args, options: REGISTRY_FLAG_OPTIONS });
  const parsed = parseRegistryFlags(values, ENV);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe('parseRegistryFlags', () => {
  it('allows insecure registries with --allow-insecure-registry, as cosign does, and not otherwise', () => {
    expect(flagsOf('--allow-insecure-registry').allowInsecureRegistry).toBe(true);
    expect(flagsOf().allowInsecureRegistry).toBe(false);
    expect(flagsOf('--insecure-registry=127.0.0.1:5000')).toMatchObject({
      allowInsecureRegistry: false,
      insecureRegistries: ['127.0.0.1:5000'],
    });
  });
});
