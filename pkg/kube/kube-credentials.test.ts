import type { ExecConfig, KubeCredentials } from './kube-config.js';
import { CredentialSource, parseExecCredential, type CredentialDeps } from './kube-credentials.js';

const EXEC: ExecConfig = {
  command: 'get-token',
  args: ['--cluster', 'prod'],
  env: { PROFILE: 'prod' },
  apiVersion: 'client.authentication.k8s.io/v1',
  field: 'users[u].user.exec',
};

const execCredential = (status: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status });

/** Deps whose file contents, plugin output and clock the test sets; every read and run is recorded. */
function fakeDeps() {
  const state = {
    now: Date.parse('2030-01-01T00:00:00Z'),
    files: new Map<string, string>(),
    execOutput: execCredential({ token: 'exec-token-1' }) as string | Error,
  };
  const reads: string[] = [];
  const runs: { exec: ExecConfig; env: Record<string, string> }[] = [];
  const deps: CredentialDeps = {
    readFile: async (path) => {
      reads.push(path);
      const content = state.files.get(path);
      if (content === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return content;
    },
    runExec: async (exec, env) => {
      runs.push({ exec, env });
      if (state.execOutput instanceof Error) throw state.execOutput;
      return state.execOutput;
    },
    now: () => state.now,
  };
  return { state, reads, runs, deps };
}

const source = (credentials: KubeCredentials, deps: CredentialDeps) => new CredentialSource(credentials, deps);

/** The deps with their first file read held until release(): it returns what the file held when it began. */
function holdingFirstRead(deps: CredentialDeps, reads: readonly string[]) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held: CredentialDeps = {
    ...deps,
    readFile: async (path) => {
      const content = await deps.readFile(path);
      if (reads.length === 1) await gate;
      return content;
    },
  };
  return { deps: held, release };
}

describe('CredentialSource', () => {
  it('gives no header for no credentials (client certificates or none)', async () => {
    const { deps } = fakeDeps();
    expect(await source({ kind: 'none' }, deps).authorization()).toBeUndefined();
  });

  it('gives a bearer header for an inline token', async () => {
    const { deps } = fakeDeps();
    expect(await source({ kind: 'token', token: 'abc.def' }, deps).authorization()).toBe('Bearer abc.def');
  });

  it('gives a basic header of username:password in base64', async () => {
    const { deps } = fakeDeps();
    const header = await source({ kind: 'basic', username: 'admin', password: 'p:w' }, deps).authorization();
    expect(header).toBe(`Basic ${Buffer.from('admin:p:w').toString('base64')}`);
  });

  describe('with a token file', () => {
    const PATH = '/var/run/secrets/token';

    it('reads the file, trimmed, into a bearer header', async () => {
      const { state, deps, reads } = fakeDeps();
      state.files.set(PATH, 'token-1\n');
      expect(await source({ kind: 'tokenFile', path: PATH }, deps).authorization()).toBe('Bearer token-1');
      expect(reads).toEqual([PATH]);
    });

    describe('when the token file is rotated', () => {
      it('keeps the token read for up to a minute', async () => {
        const { state, deps, reads } = fakeDeps();
        state.files.set(PATH, 'token-1');
        const credentials = source({ kind: 'tokenFile', path: PATH }, deps);
        await credentials.authorization();
        state.files.set(PATH, 'token-2');
        state.now += 59_999;
        expect(await credentials.authorization()).toBe('Bearer token-1');
        expect(reads).toHaveLength(1);
      });

      it('reads it again after a minute', async () => {
        const { state, deps, reads } = fakeDeps();
        state.files.set(PATH, 'token-1');
        const credentials = source({ kind: 'tokenFile', path: PATH }, deps);
        await credentials.authorization();
        state.files.set(PATH, 'token-2');
        state.now += 60_000;
        expect(await credentials.authorization()).toBe('Bearer token-2');
        expect(reads).toHaveLength(2);
      });

      it('reads it again at once after invalidate() (a 401)', async () => {
        const { state, deps, reads } = fakeDeps();
        state.files.set(PATH, 'token-1');
        const credentials = source({ kind: 'tokenFile', path: PATH }, deps);
        await credentials.authorization();
        state.files.set(PATH, 'token-2');
        credentials.invalidate();
        expect(await credentials.authorization()).toBe('Bearer token-2');
        expect(reads).toHaveLength(2);
      });
    });

    describe('when invalidate() comes while a read is in flight', () => {
      it('reads again for the next request, and does not keep what the earlier read found', async () => {
        const { state, deps, reads } = fakeDeps();
        state.files.set(PATH, 'token-1');
        const held = holdingFirstRead(deps, reads);
        const credentials = source({ kind: 'tokenFile', path: PATH }, held.deps);
        const first = credentials.authorization();
        // A 401 for token-1 while it is being read; the file now holds token-2.
        state.files.set(PATH, 'token-2');
        credentials.invalidate();
        expect(await credentials.authorization()).toBe('Bearer token-2');
        held.release();
        expect(await first).toBe('Bearer token-1');
        expect(await credentials.authorization()).toBe('Bearer token-2');
        expect(reads).toHaveLength(2);
      });
    });

    it('shares one read among concurrent requests', async () => {
      const { state, deps, reads } = fakeDeps();
      state.files.set(PATH, 'token-1');
      const held = holdingFirstRead(deps, reads);
      const credentials = source({ kind: 'tokenFile', path: PATH }, held.deps);
      const headers = Promise.all([
        credentials.authorization(),
        credentials.authorization(),
        credentials.authorization(),
      ]);
      held.release();
      expect(await headers).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-1']);
      expect(reads).toHaveLength(1);
    });

    it('fails, naming the path, when the file is empty', async () => {
      const { state, deps } = fakeDeps();
      state.files.set(PATH, '  \n');
      await expect(source({ kind: 'tokenFile', path: PATH }, deps).authorization()).rejects.toThrow(
        `token file ${PATH} is empty`,
      );
    });

    it('fails, naming the path, when the file cannot be read; and reads again on the next request', async () => {
      const { state, deps, reads } = fakeDeps();
      const credentials = source({ kind: 'tokenFile', path: PATH }, deps);
      await expect(credentials.authorization()).rejects.toThrow(`token file ${PATH}: ENOENT`);
      state.files.set(PATH, 'token-1');
      expect(await credentials.authorization()).toBe('Bearer token-1');
      expect(reads).toHaveLength(2);
    });
  });

  describe('with an exec plugin', () => {
    it('runs the plugin with KUBERNETES_EXEC_INFO for its apiVersion, non-interactive', async () => {
      const { deps, runs } = fakeDeps();
      const header = await source({ kind: 'exec', exec: EXEC }, deps).authorization();
      expect(header).toBe('Bearer exec-token-1');
      expect(runs).toHaveLength(1);
      expect(runs[0]!.exec).toBe(EXEC);
      expect(JSON.parse(runs[0]!.env['KUBERNETES_EXEC_INFO']!)).toEqual({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        spec: { interactive: false },
      });
    });

    it('passes a v1beta1 apiVersion on to the plugin', async () => {
      const { deps, runs } = fakeDeps();
      const exec = { ...EXEC, apiVersion: 'client.authentication.k8s.io/v1beta1' };
      await source({ kind: 'exec', exec }, deps).authorization();
      expect(JSON.parse(runs[0]!.env['KUBERNETES_EXEC_INFO']!)).toMatchObject({
        apiVersion: 'client.authentication.k8s.io/v1beta1',
      });
    });

    it('keeps the token until its expirationTimestamp, then runs the plugin again', async () => {
      const { state, deps, runs } = fakeDeps();
      const expires = state.now + 10 * 60_000;
      state.execOutput = execCredential({
        token: 'exec-token-1',
        expirationTimestamp: new Date(expires).toISOString(),
      });
      const credentials = source({ kind: 'exec', exec: EXEC }, deps);
      expect(await credentials.authorization()).toBe('Bearer exec-token-1');
      state.execOutput = execCredential({ token: 'exec-token-2' });
      state.now = expires - 1;
      expect(await credentials.authorization()).toBe('Bearer exec-token-1');
      expect(runs).toHaveLength(1);
      state.now = expires;
      expect(await credentials.authorization()).toBe('Bearer exec-token-2');
      expect(runs).toHaveLength(2);
    });

    it('keeps a token without an expirationTimestamp until invalidate()', async () => {
      const { state, deps, runs } = fakeDeps();
      const credentials = source({ kind: 'exec', exec: EXEC }, deps);
      await credentials.authorization();
      state.now += 365 * 86_400_000;
      expect(await credentials.authorization()).toBe('Bearer exec-token-1');
      expect(runs).toHaveLength(1);
      state.execOutput = execCredential({ token: 'exec-token-2' });
      credentials.invalidate();
      expect(await credentials.authorization()).toBe('Bearer exec-token-2');
      expect(runs).toHaveLength(2);
    });

    it('shares one run of the plugin among concurrent requests', async () => {
      const { deps, runs } = fakeDeps();
      const credentials = source({ kind: 'exec', exec: EXEC }, deps);
      const headers = await Promise.all([credentials.authorization(), credentials.authorization()]);
      expect(headers).toEqual(['Bearer exec-token-1', 'Bearer exec-token-1']);
      expect(runs).toHaveLength(1);
    });

    it('passes on the failure of the plugin, and runs it again on the next request', async () => {
      const { state, deps, runs } = fakeDeps();
      state.execOutput = new Error('users[u].user.exec: get-token failed: no session');
      const credentials = source({ kind: 'exec', exec: EXEC }, deps);
      await expect(credentials.authorization()).rejects.toThrow('get-token failed: no session');
      state.execOutput = execCredential({ token: 'exec-token-2' });
      expect(await credentials.authorization()).toBe('Bearer exec-token-2');
      expect(runs).toHaveLength(2);
    });

    it('fails when the plugin prints something else than an ExecCredential with a token', async () => {
      const { state, deps } = fakeDeps();
      state.execOutput = 'Please log in';
      await expect(source({ kind: 'exec', exec: EXEC }, deps).authorization()).rejects.toThrow(
        'users[u].user.exec: get-token did not print an ExecCredential (not JSON)',
      );
    });
  });
});

describe('parseExecCredential', () => {
  it('gives the token and the expiry in milliseconds', () => {
    expect(
      parseExecCredential(execCredential({ token: 't', expirationTimestamp: '2030-01-01T00:10:00Z' }), EXEC),
    ).toEqual({ token: 't', expiresAt: Date.parse('2030-01-01T00:10:00Z') });
  });

  it('gives no expiry when the timestamp is missing or not a date', () => {
    expect(parseExecCredential(execCredential({ token: 't' }), EXEC)).toEqual({ token: 't' });
    expect(parseExecCredential(execCredential({ token: 't', expirationTimestamp: 'soon' }), EXEC)).toEqual({
      token: 't',
    });
  });

  it('refuses output that is not JSON, naming the field and command', () => {
    expect(() => parseExecCredential('{"status":', EXEC)).toThrow(
      'users[u].user.exec: get-token did not print an ExecCredential (not JSON)',
    );
  });

  it.each<[string, string]>([
    ['no status', JSON.stringify({ kind: 'ExecCredential' })],
    ['an empty token', execCredential({ token: '' })],
    ['a token that is not a string', execCredential({ token: 42 })],
    ['null', 'null'],
  ])('refuses an ExecCredential with %s', (_what, stdout) => {
    expect(() => parseExecCredential(stdout, EXEC)).toThrow('users[u].user.exec: get-token: its status has no token');
  });

  it('refuses a client certificate, saying that a token is needed', () => {
    expect(() =>
      parseExecCredential(execCredential({ clientCertificateData: 'CERT', clientKeyData: 'KEY' }), EXEC),
    ).toThrow('it returned a client certificate, which is not supported; a token is');
  });
});
