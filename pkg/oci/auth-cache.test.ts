import { ANONYMOUS, AuthCache, credentialFingerprint } from './auth-cache.js';

describe('credentialFingerprint', () => {
  it('names the absence of credentials "anonymous"', () => {
    expect(credentialFingerprint(undefined)).toBe(ANONYMOUS);
    expect(credentialFingerprint({})).toBe(ANONYMOUS);
  });

  it('tells apart credentials that differ in any field', () => {
    const prints = [
      { username: 'a', password: 'b' },
      { username: 'a', password: 'c' },
      { username: 'a:b', password: '' },
      { username: 'a', password: 'b', identityToken: 'i' },
      { registryToken: 'r' },
      { identityToken: 'r' },
    ].map(credentialFingerprint);
    expect(new Set(prints).size).toBe(prints.length);
  });

  it('is stable, and does not contain the secret', () => {
    const a = credentialFingerprint({ username: 'u', password: 'hunter2' });
    expect(credentialFingerprint({ password: 'hunter2', username: 'u' })).toBe(a);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a).not.toContain('hunter2');
  });
});

describe('AuthCache', () => {
  const key = { host: 'r.example', repository: 'a', fingerprint: ANONYMOUS };

  it('keys by host, repository, scope and credentials', () => {
    const cache = new AuthCache(() => 0);
    cache.set(key, { header: 'Bearer a', expiresAt: 10 });
    expect(cache.get(key)?.header).toBe('Bearer a');
    expect(cache.get({ ...key, fingerprint: 'sha256:other' })).toBeUndefined();
    expect(cache.get({ ...key, push: true })).toBeUndefined();
    expect(cache.get({ ...key, repository: 'b' })).toBeUndefined();
    expect(cache.get({ ...key, host: 'other.example' })).toBeUndefined();
  });

  it('forgets an expired entry', () => {
    let now = 0;
    const cache = new AuthCache(() => now);
    cache.set(key, { header: 'Bearer a', expiresAt: 10 });
    now = 10;
    expect(cache.get(key)).toBeUndefined();
  });

  it('stays bounded however many keys callers make up', () => {
    const cache = new AuthCache(() => 0);
    for (let i = 0; i < 10_000; i++) cache.set({ ...key, repository: `r${i}` }, { header: 'x', expiresAt: 1 });
    expect(cache.get({ ...key, repository: 'r0' })).toBeUndefined();
    expect(cache.get({ ...key, repository: 'r9999' })).toBeDefined();
  });
});
