import { mergeDockerConfigs, parseDockerCfg, parseDockerConfigJson, type DockerConfig } from './docker-config.js';

/** What `docker login` and kubectl put in `auth`: base64 of `username:password`. */
function basicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

function configOf(text: string, parse = parseDockerConfigJson): DockerConfig {
  const result = parse(text);
  if (!result.ok) throw new Error(`expected the config to parse: ${result.error}`);
  return result.value;
}

function errorOf(text: string, parse = parseDockerConfigJson): string {
  const result = parse(text);
  if (result.ok) throw new Error('expected the config not to parse');
  return result.error;
}

const GHCR_PASSWORD = 'ghp_R3alL00kingT0kenValue1234567890ab';

/**
 * The `.dockerconfigjson` of `kubectl create secret docker-registry ghcr-pull --docker-server=ghcr.io
 * --docker-username=ci-bot --docker-password=... --docker-email=ci-bot@example.com`.
 */
const KUBECTL_SECRET = JSON.stringify({
  auths: {
    'ghcr.io': {
      username: 'ci-bot',
      password: GHCR_PASSWORD,
      email: 'ci-bot@example.com',
      auth: basicAuth('ci-bot', GHCR_PASSWORD),
    },
  },
});

/** ~/.docker/config.json after `docker login` (Docker Hub) and `docker login localhost:5000` on Linux. */
const DOCKER_LOGIN_CONFIG = `{
	"auths": {
		"https://index.docker.io/v1/": {
			"auth": "${basicAuth('octocat', 'dckr_pat_2b3e36beeb386dfdaacb9b46004c')}"
		},
		"localhost:5000": {
			"auth": "${basicAuth('testuser', 'testpassword')}"
		}
	}
}`;

describe('parseDockerConfigJson', () => {
  describe('when given a Secret written by kubectl create secret docker-registry', () => {
    const config = configOf(KUBECTL_SECRET);

    it('returns the username and password for the registry', () => {
      expect(config.lookup('ghcr.io')).toEqual({ username: 'ci-bot', password: GHCR_PASSWORD });
    });

    it('returns nothing for another registry', () => {
      expect(config.lookup('quay.io')).toBeUndefined();
    });

    it('does not match a registry that merely ends with the host', () => {
      expect(config.lookup('evil-ghcr.io')).toBeUndefined();
      expect(config.lookup('ghcr.io.evil.example')).toBeUndefined();
    });
  });

  describe('when given the config.json docker login writes', () => {
    const config = configOf(DOCKER_LOGIN_CONFIG);

    it('finds the registry on a port', () => {
      expect(config.lookup('localhost:5000')).toEqual({ username: 'testuser', password: 'testpassword' });
    });

    it('does not match the same host on another port', () => {
      expect(config.lookup('localhost')).toBeUndefined();
      expect(config.lookup('localhost:5001')).toBeUndefined();
    });

    it.each(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/', 'Docker.IO'])(
      'finds the legacy Docker Hub key for a lookup of %j',
      (registry) => {
        expect(config.lookup(registry)).toEqual({
          username: 'octocat',
          password: 'dckr_pat_2b3e36beeb386dfdaacb9b46004c',
        });
      },
    );
  });

  describe('when Docker Hub is keyed by one of its other names', () => {
    it.each(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://registry-1.docker.io/v2/'])(
      'finds %j under the legacy key https://index.docker.io/v1/ too',
      (key) => {
        const config = configOf(JSON.stringify({ auths: { [key]: { auth: basicAuth('octocat', 'pw') } } }));
        expect(config.lookup('https://index.docker.io/v1/')).toEqual({ username: 'octocat', password: 'pw' });
        expect(config.lookup('docker.io')).toEqual({ username: 'octocat', password: 'pw' });
      },
    );
  });

  describe('when keys are URLs, upper-case or have trailing slashes', () => {
    const config = configOf(
      JSON.stringify({
        auths: {
          'http://localhost:5000/v2/': { username: 'local', password: 'l' },
          'https://Registry.Example.com/': { username: 'corp', password: 'c' },
          'quay.io/': { username: 'quay', password: 'q' },
        },
      }),
    );

    it.each([
      ['localhost:5000', 'local'],
      ['registry.example.com', 'corp'],
      ['REGISTRY.example.COM', 'corp'],
      ['quay.io', 'quay'],
    ])('finds %j', (registry, username) => {
      expect(config.lookup(registry)?.username).toBe(username);
    });
  });

  describe('when the password contains colons', () => {
    it('splits the auth at the first colon only', () => {
      const config = configOf(JSON.stringify({ auths: { 'ghcr.io': { auth: basicAuth('bot', 'a:b::c:') } } }));
      expect(config.lookup('ghcr.io')).toEqual({ username: 'bot', password: 'a:b::c:' });
    });
  });

  describe('when an entry has username and password but no auth', () => {
    it('uses them', () => {
      const config = configOf(JSON.stringify({ auths: { 'quay.io': { username: 'robot+ci', password: 'XYZ' } } }));
      expect(config.lookup('quay.io')).toEqual({ username: 'robot+ci', password: 'XYZ' });
    });
  });

  describe('when auth and username/password disagree', () => {
    it('uses auth, as Docker and the kubelet do', () => {
      const config = configOf(
        JSON.stringify({ auths: { 'quay.io': { username: 'old', password: 'old', auth: basicAuth('new', 'new') } } }),
      );
      expect(config.lookup('quay.io')).toEqual({ username: 'new', password: 'new' });
    });
  });

  describe('when an entry carries an identity token (docker login to Azure Container Registry)', () => {
    it('returns the identity token alongside the placeholder username', () => {
      const config = configOf(
        JSON.stringify({
          auths: {
            'myregistry.azurecr.io': {
              auth: basicAuth('00000000-0000-0000-0000-000000000000', ''),
              identitytoken: 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.refresh',
            },
          },
        }),
      );
      expect(config.lookup('myregistry.azurecr.io')).toEqual({
        username: '00000000-0000-0000-0000-000000000000',
        password: '',
        identityToken: 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.refresh',
      });
    });
  });

  describe('when an entry carries a registry token', () => {
    it('returns it', () => {
      const config = configOf(JSON.stringify({ auths: { 'registry.example.com': { registrytoken: 'tok' } } }));
      expect(config.lookup('registry.example.com')).toEqual({ registryToken: 'tok' });
    });
  });

  describe('when credentials live in credsStore or credHelpers (Docker Desktop)', () => {
    const config = configOf(
      JSON.stringify({
        auths: { 'https://index.docker.io/v1/': {}, 'ghcr.io': { auth: basicAuth('bot', 'pw') } },
        credsStore: 'desktop',
        credHelpers: { '123456789012.dkr.ecr.us-east-1.amazonaws.com': 'ecr-login', 'gcr.io': 'gcloud' },
        currentContext: 'desktop-linux',
      }),
    );

    it('ignores the helpers and returns nothing for their registries', () => {
      expect(config.lookup('gcr.io')).toBeUndefined();
      expect(config.lookup('123456789012.dkr.ecr.us-east-1.amazonaws.com')).toBeUndefined();
    });

    it('treats an empty entry as no credentials', () => {
      expect(config.lookup('docker.io')).toBeUndefined();
    });

    it('still reads the entries that have credentials', () => {
      expect(config.lookup('ghcr.io')).toEqual({ username: 'bot', password: 'pw' });
    });
  });

  describe('when there is no auths key', () => {
    it('returns an empty config', () => {
      const config = configOf(JSON.stringify({ credsStore: 'osxkeychain' }));
      expect(config.lookup('docker.io')).toBeUndefined();
    });
  });

  describe('when two keys name the same registry', () => {
    it('keeps the first one written', () => {
      const config = configOf(
        JSON.stringify({
          auths: {
            'https://index.docker.io/v1/': { auth: basicAuth('first', 'pw1') },
            'docker.io': { auth: basicAuth('second', 'pw2') },
          },
        }),
      );
      expect(config.lookup('docker.io')?.username).toBe('first');
    });
  });

  describe('when the document is malformed', () => {
    it.each([
      ['invalid JSON', '{"auths": {', /not valid JSON/],
      ['a JSON array', '[]', /not a JSON object/],
      ['a JSON null', 'null', /not a JSON object/],
      ['auths as an array', '{"auths": []}', /"auths" is not an object/],
      ['auths as a string', '{"auths": "ghcr.io"}', /"auths" is not an object/],
      ['auths as null', '{"auths": null}', /"auths" is not an object/],
    ])('fails for %s', (_what, text, message) => {
      expect(errorOf(text)).toMatch(message);
    });
  });

  describe('when an entry is malformed', () => {
    it.each([
      ['an entry that is not an object', { 'ghcr.io': 'ci-bot' }, /"ghcr.io" is not an object/],
      ['auth that is not base64', { 'ghcr.io': { auth: 'not base64!' } }, /"ghcr.io": "auth" is not valid base64/],
      ['auth with bad padding', { 'ghcr.io': { auth: 'Ym90OnB3=' } }, /"ghcr.io": "auth" is not valid base64/],
      [
        'auth without a colon',
        { 'ghcr.io': { auth: Buffer.from('ci-bot').toString('base64') } },
        /"ghcr.io": "auth" is not of the form username:password/,
      ],
      ['a password that is not a string', { 'quay.io': { password: 42 } }, /"quay.io": "password" is not a string/],
      ['a key with no host', { 'https://': { auth: basicAuth('a', 'b') } }, /registry key "https:\/\/" has no host/],
    ])('fails for %s, naming the registry key', (_what, auths, message) => {
      expect(errorOf(JSON.stringify({ auths }))).toMatch(message);
    });
  });

  describe('when a config with a password fails to parse', () => {
    const password = 'S3cr3t-P@ssw0rd:with:colons';
    const encoded = basicAuth('ci-bot', password);

    it.each([
      ['truncated JSON', `{"auths":{"ghcr.io":{"username":"ci-bot","password":"${password}","auth":"${encoded}"`],
      ['JSON broken right after the password', `{"auths":{"ghcr.io":{"password":"${password}" x}}}`],
      ['an entry with a bad auth', JSON.stringify({ auths: { 'ghcr.io': { password, auth: `${encoded}!` } } })],
      [
        'an auth without a colon',
        JSON.stringify({
          auths: { 'ghcr.io': { auth: Buffer.from(password.replaceAll(':', '')).toString('base64') } },
        }),
      ],
      [
        'a non-string field',
        JSON.stringify({ auths: { 'ghcr.io': { password, username: ['ci-bot'], auth: encoded } } }),
      ],
      ['an entry that is a string', JSON.stringify({ auths: { 'ghcr.io': password } })],
    ])('never puts the password in the error, for %s', (_what, text) => {
      const error = errorOf(text);
      expect(error).not.toContain(password);
      expect(error).not.toContain('S3cr3t');
      expect(error).not.toContain(encoded);
    });
  });
});

describe('parseDockerCfg', () => {
  describe('when given a legacy kubernetes.io/dockercfg Secret', () => {
    const config = configOf(
      JSON.stringify({
        'https://index.docker.io/v1/': { auth: basicAuth('octocat', 'pw'), email: 'octocat@example.com' },
        'registry.example.com:8443': { username: 'corp', password: 'c', email: 'corp@example.com' },
      }),
      parseDockerCfg,
    );

    it('reads the registry map at top level', () => {
      expect(config.lookup('docker.io')).toEqual({ username: 'octocat', password: 'pw' });
      expect(config.lookup('registry.example.com:8443')).toEqual({ username: 'corp', password: 'c' });
    });
  });

  describe('when the document is malformed', () => {
    it.each([
      ['invalid JSON', 'not json', /\.dockercfg is not valid JSON/],
      ['a JSON array', '[{"auth": "x"}]', /\.dockercfg is not a JSON object/],
      ['a bad auth', JSON.stringify({ 'quay.io': { auth: '%%%' } }), /"quay.io": "auth" is not valid base64/],
    ])('fails for %s', (_what, text, message) => {
      expect(errorOf(text, parseDockerCfg)).toMatch(message);
    });
  });
});

describe('mergeDockerConfigs', () => {
  const podSecret = configOf(JSON.stringify({ auths: { 'ghcr.io': { auth: basicAuth('pod', 'p1') } } }));
  const serviceAccountSecret = configOf(
    JSON.stringify({
      auths: {
        'ghcr.io': { auth: basicAuth('sa', 'p2') },
        'https://index.docker.io/v1/': { auth: basicAuth('hub', 'p3') },
      },
    }),
  );

  describe('when several configs have credentials for a registry', () => {
    it('returns the first one', () => {
      expect(mergeDockerConfigs([podSecret, serviceAccountSecret]).lookup('ghcr.io')?.username).toBe('pod');
      expect(mergeDockerConfigs([serviceAccountSecret, podSecret]).lookup('ghcr.io')?.username).toBe('sa');
    });
  });

  describe('when only a later config has credentials for a registry', () => {
    it('falls through to it', () => {
      expect(mergeDockerConfigs([podSecret, serviceAccountSecret]).lookup('index.docker.io')?.username).toBe('hub');
    });
  });

  describe('when an earlier config has only an empty entry for the registry', () => {
    it('does not let it shadow the later credentials', () => {
      const desktop = configOf(JSON.stringify({ auths: { 'ghcr.io': {} }, credsStore: 'desktop' }));
      expect(mergeDockerConfigs([desktop, podSecret]).lookup('ghcr.io')?.username).toBe('pod');
    });
  });

  describe('when no config has credentials for a registry', () => {
    it('returns nothing', () => {
      expect(mergeDockerConfigs([podSecret, serviceAccountSecret]).lookup('quay.io')).toBeUndefined();
      expect(mergeDockerConfigs([]).lookup('ghcr.io')).toBeUndefined();
    });
  });

  describe('when the array passed in changes afterwards', () => {
    it('keeps the configs it was given', () => {
      const configs = [podSecret];
      const merged = mergeDockerConfigs(configs);
      configs.length = 0;
      expect(merged.lookup('ghcr.io')?.username).toBe('pod');
    });
  });
});
