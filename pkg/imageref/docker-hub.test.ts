import { toLongOfficialSpelling, toOtherOfficialSpelling, toShortOfficialSpelling } from './docker-hub.js';

describe('toOtherOfficialSpelling', () => {
  describe('when the image is an official Docker Hub image', () => {
    it.each([
      ['nginx', 'library/nginx'],
      ['library/nginx', 'nginx'],
      ['library', 'library/library'],
    ])('gives %j as %j', (repository, other) => {
      expect(toOtherOfficialSpelling('docker.io', repository)).toBe(other);
    });
  });

  describe('when the image is not an official one', () => {
    it.each<[registry: string, repository: string]>([
      ['docker.io', 'acme/nginx'],
      ['docker.io', 'library/nginx/extra'],
      ['docker.io', 'libraryx/nginx'],
      ['ghcr.io', 'nginx'],
      ['ghcr.io', 'library/nginx'],
      ['docker.io:5000', 'nginx'],
    ])('has no other spelling for %j %j', (registry, repository) => {
      expect(toOtherOfficialSpelling(registry, repository)).toBeUndefined();
    });
  });
});

describe('toShortOfficialSpelling and toLongOfficialSpelling', () => {
  it.each([
    ['nginx', 'nginx', 'library/nginx'],
    ['library/nginx', 'nginx', 'library/nginx'],
    ['acme/nginx', 'acme/nginx', 'acme/nginx'],
    ['library/a/b', 'library/a/b', 'library/a/b'],
  ])('write %j as %j and %j', (repository, short, long) => {
    expect(toShortOfficialSpelling('docker.io', repository)).toBe(short);
    expect(toLongOfficialSpelling('docker.io', repository)).toBe(long);
  });

  it('leave other registries alone', () => {
    expect(toShortOfficialSpelling('ghcr.io', 'library/nginx')).toBe('library/nginx');
    expect(toLongOfficialSpelling('ghcr.io', 'nginx')).toBe('nginx');
  });
});
