import { parseImageRef, toCanonicalImageRef, type ImageRef } from './image-ref.js';
import { compileImageReferencePattern } from './image-reference-pattern.js';

const HEX64 = 'dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f';
const SHA256 = `sha256:${HEX64}`;
const OTHER_SHA256 = `sha256:${'e'.repeat(64)}`;

function parse(text: string): ImageRef {
  const result = parseImageRef(text);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got: ${result.error}`);
  return result.value;
}

function matches(pattern: string, image: string): boolean {
  return compileImageReferencePattern(pattern).matches(parse(image));
}

function matchesPulledImage(pattern: string, image: string): boolean {
  return compileImageReferencePattern(pattern).matchesPulledImage(parse(image));
}

type Case = [pattern: string, image: string];

describe('compileImageReferencePattern', () => {
  it('keeps the source as written', () => {
    expect(compileImageReferencePattern('GHCR.IO:443/acme/**').source).toBe('GHCR.IO:443/acme/**');
  });

  describe('when the pod writes the registry host in upper case', () => {
    it.each<Case>([
      ['ghcr.io/acme/*', 'GHCR.IO/acme/app:v1'],
      ['ghcr.io/acme/*', 'Ghcr.Io/acme/app'],
      ['ghcr.io/acme/app:v1', 'GHCR.IO/acme/app:v1'],
      ['localhost:5000/*', 'LOCALHOST:5000/app'],
    ])('%j matches %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(true);
      expect(matchesPulledImage(pattern, image)).toBe(true);
    });
  });

  describe('when the policy writes the registry host in upper case', () => {
    it.each<Case>([
      ['GHCR.IO/acme/*', 'ghcr.io/acme/app:v1'],
      ['Ghcr.Io/acme/*', 'GHCR.IO/acme/app:v1'],
      ['GHCR.*/acme/*', 'ghcr.io/acme/app:v1'],
      ['*.GCR.IO/*', 'eu.gcr.io/project/app:v1'],
      ['GHCR.I?/acme/*', 'ghcr.io/acme/app:v1'],
    ])('%j matches %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(true);
    });

    it.each<Case>([
      ['*/ACME/*', 'ghcr.io/acme/app:v1'],
      ['*Acme/app:*', 'ghcr.io/acme/app:v1'],
      ['ghcr.io/acme/app:V1', 'ghcr.io/acme/app:v1'],
      ['*:V1', 'ghcr.io/acme/app:v1'],
    ])('%j does not match %j: only the host ignores case', (pattern, image) => {
      expect(matches(pattern, image)).toBe(false);
    });
  });

  describe('when the registry is written with the default HTTPS port', () => {
    it.each<Case>([
      ['ghcr.io/acme/*', 'ghcr.io:443/acme/app'],
      ['ghcr.io/acme/*', 'GHCR.IO:0443/acme/app:v1'],
      ['ghcr.io:443/acme/*', 'ghcr.io/acme/app'],
      ['ghcr.io:0443/acme/*', 'ghcr.io:443/acme/app'],
      ['*.gcr.io/*', 'eu.gcr.io:443/project/app'],
      ['*.gcr.io:443/*', 'eu.gcr.io/project/app'],
      ['ghcr.io:*/acme/*', 'ghcr.io/acme/app'],
      ['ghcr.io:44?/acme/*', 'ghcr.io/acme/app'],
      ['*:443/*', 'ghcr.io/acme/app'],
    ])('%j matches %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(true);
      expect(matchesPulledImage(pattern, image)).toBe(true);
    });
  });

  describe('when the registry has another port', () => {
    it.each<Case>([
      ['ghcr.io/acme/*', 'ghcr.io:4443/acme/app'],
      ['ghcr.io/acme/*', 'ghcr.io:44/acme/app'],
      ['ghcr.io:4443/acme/*', 'ghcr.io/acme/app'],
      ['ghcr.io:4443/acme/*', 'ghcr.io:443/acme/app'],
      ['*:443/*', 'ghcr.io:5000/acme/app'],
      ['*.gcr.io/*', 'eu.gcr.io:5000/project/app'],
    ])('%j does not match %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(false);
    });

    it.each<Case>([
      ['ghcr.io:*/acme/*', 'ghcr.io:5000/acme/app'],
      ['ghcr.io:5000/acme/*', 'ghcr.io:05000/acme/app'],
      ['localhost:*/*', 'localhost:5000/app'],
    ])('%j matches %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(true);
    });
  });

  describe('when the registry is a different host', () => {
    it.each<Case>([
      ['ghcr.io/acme/*', 'quay.io/acme/app'],
      ['ghcr.io/acme/*', 'ghcr.io.evil.com/acme/app'],
      ['ghcr.io/acme/*', 'evil.com/ghcr.io/acme/app'],
      ['ghcr.io/acme/*', 'acme/app'],
      ['docker.io/*', 'docker.io:5000/acme/app'],
      ['docker.io/*', 'ghcr.io/acme/app'],
    ])('%j does not match %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(false);
    });
  });

  describe('when the repository is a different one', () => {
    it.each<Case>([
      ['ghcr.io/acme/*', 'ghcr.io/acme-evil/app'],
      ['ghcr.io/acme/app:*', 'ghcr.io/acme/app2:v1'],
      ['docker.io/library/nginx*', 'acme/nginx'],
      ['docker.io/library/nginx*', 'docker.io/acme/nginx'],
      ['docker.io/library/*', 'acme/app'],
      ['docker.io/nginx*', 'docker.io/library/nginx/extra'],
      ['docker.io/nginx*', 'ghcr.io/library/nginx'],
      ['ghcr.io/nginx*', 'ghcr.io/library/nginx'],
      ['ghcr.io/library/nginx*', 'ghcr.io/nginx'],
      ['library/nginx*', 'acme/nginx'],
    ])('%j does not match %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(false);
    });
  });

  describe('when an official Docker Hub image is written with or without library/', () => {
    const images = [
      'nginx:1.27',
      'library/nginx:1.27',
      'docker.io/nginx:1.27',
      'docker.io/library/nginx:1.27',
      'index.docker.io/nginx:1.27',
      'REGISTRY-1.DOCKER.IO:443/library/nginx:1.27',
    ];
    const patterns = [
      'docker.io/nginx*',
      'docker.io/library/nginx*',
      'docker.io/nginx:1.27',
      'docker.io/library/nginx:1.27',
      'index.docker.io/library/nginx:*',
      'docker.io/library/*',
      '*/library/nginx:1.27',
      '*/nginx:1.27',
    ];
    const cases = patterns.flatMap((pattern) => images.map((image): Case => [pattern, image]));
    it.each(cases)('%j matches %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(true);
      expect(matchesPulledImage(pattern, image)).toBe(true);
    });
  });

  describe('when the pattern has no registry', () => {
    // Kyverno's string always begins with the registry, so a pattern's first characters are compared with it.
    it.each<Case>([
      ['nginx*', 'nginx'],
      ['nginx*', 'docker.io/nginx:1.27'],
      ['nginx*', 'library/nginx:1.27'],
      ['nginx:1.27', 'nginx:1.27'],
      ['library/nginx*', 'nginx'],
      ['library/nginx*', 'docker.io/library/nginx'],
      ['acme/*', 'acme/app'],
    ])('%j does not match %j, which is on docker.io', (pattern, image) => {
      expect(matches(pattern, image)).toBe(false);
    });

    it('compares its first characters with the registry, as Kyverno does', () => {
      expect(matches('nginx*', 'nginx.example.com/app:v1')).toBe(true);
    });
  });

  describe('when the image has a tag and a digest', () => {
    const image = `ghcr.io/acme/app:v1@${SHA256}`;

    it.each([
      'ghcr.io/acme/app:v1',
      `ghcr.io/acme/app@${SHA256}`,
      `ghcr.io/acme/app:v1@${SHA256}`,
      'ghcr.io/acme/app:v1@sha256:*',
      'ghcr.io/acme/app:*',
      'ghcr.io/acme/app@*',
    ])('%j matches it', (pattern) => {
      expect(matches(pattern, image)).toBe(true);
    });

    it.each(['ghcr.io/acme/app:v2', `ghcr.io/acme/app@${OTHER_SHA256}`, `ghcr.io/acme/app:v1@${OTHER_SHA256}`])(
      '%j does not match it',
      (pattern) => {
        expect(matches(pattern, image)).toBe(false);
      },
    );

    it('matches a tag pattern for an official Docker Hub image written either way', () => {
      expect(matches('docker.io/nginx:1.27', `library/nginx:1.27@${SHA256}`)).toBe(true);
      expect(matches('docker.io/library/nginx:1.27', `nginx:1.27@${SHA256}`)).toBe(true);
    });
  });

  describe('when the image has a digest and no tag', () => {
    it('is not matched by a tag pattern, since its tag is unknown', () => {
      expect(matches('ghcr.io/acme/app:v1', `ghcr.io/acme/app@${SHA256}`)).toBe(false);
      expect(matches('ghcr.io/acme/app:*', `ghcr.io/acme/app@${SHA256}`)).toBe(false);
    });

    it('is matched by its digest and by a pattern that does not name a tag', () => {
      expect(matches(`ghcr.io/acme/app@${SHA256}`, `ghcr.io/acme/app@${SHA256}`)).toBe(true);
      expect(matches('ghcr.io/acme/app*', `ghcr.io/acme/app@${SHA256}`)).toBe(true);
    });
  });

  describe('when matching the pulled image, as a skip list must', () => {
    const image = `ghcr.io/acme/app:v1@${SHA256}`;

    it('ignores a tag written beside a digest, which the runtime does not pull by', () => {
      expect(matchesPulledImage('ghcr.io/acme/app:v1', image)).toBe(false);
      expect(matchesPulledImage('ghcr.io/acme/app:*', image)).toBe(false);
      expect(matchesPulledImage('ghcr.io/acme/app:v1@sha256:*', image)).toBe(false);
    });

    it('matches by the digest', () => {
      expect(matchesPulledImage(`ghcr.io/acme/app@${SHA256}`, image)).toBe(true);
      expect(matchesPulledImage('ghcr.io/acme/*', image)).toBe(true);
    });

    it('matches by the tag when there is no digest', () => {
      expect(matchesPulledImage('ghcr.io/acme/app:v1', 'ghcr.io/acme/app:v1')).toBe(true);
      expect(matchesPulledImage('ghcr.io/acme/app:v1', 'ghcr.io/acme/app')).toBe(false);
      expect(matchesPulledImage('ghcr.io/acme/app:latest', 'ghcr.io/acme/app')).toBe(true);
    });
  });

  describe('when the host part has wildcards and the image is on Docker Hub', () => {
    it.each<Case>([
      ['*', 'nginx'],
      ['*', `nginx@${SHA256}`],
      ['*.docker.io/*', 'nginx'],
      ['registry-?.docker.io/library/*', 'docker.io/nginx'],
      ['?ocker.io/nginx:*', 'library/nginx:1.27'],
      ['docker.io:*/*', 'nginx'],
    ])('%j matches %j under one of Docker Hub names', (pattern, image) => {
      expect(matches(pattern, image)).toBe(true);
    });

    it.each<Case>([
      ['*.gcr.io/*', 'nginx'],
      ['*.docker.io/*', 'docker.io:5000/nginx'],
    ])('%j does not match %j', (pattern, image) => {
      expect(matches(pattern, image)).toBe(false);
    });
  });

  describe('when a ref is built by hand without a tag or digest', () => {
    it('implies latest', () => {
      const pattern = compileImageReferencePattern('ghcr.io/app:latest');
      expect(pattern.matches({ registry: 'ghcr.io', repository: 'app' })).toBe(true);
    });
  });

  describe('when a pattern is built to backtrack', () => {
    it('still answers, and correctly, with a literal host', () => {
      const pattern = compileImageReferencePattern(`ghcr.io/${'*a'.repeat(30)}b`);
      expect(pattern.matches(parse(`ghcr.io/${'a'.repeat(200)}:${'a'.repeat(128)}@${SHA256}`))).toBe(false);
    });

    it('still answers, and correctly, with a wildcard host against every Docker Hub spelling', () => {
      const pattern = compileImageReferencePattern(`${'*a'.repeat(30)}b`);
      const image = parse(`${'a'.repeat(200)}:${'a'.repeat(128)}@${SHA256}`);
      const started = Date.now();
      for (let i = 0; i < 20; i++) expect(pattern.matches(image)).toBe(false);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });

  describe('for every spelling of the same image', () => {
    // Each group is one image written several ways; the outcome must not depend on which.
    const groups: string[][] = [
      [
        'ghcr.io/acme/app:v1',
        'GHCR.IO/acme/app:v1',
        'ghcr.io:443/acme/app:v1',
        'Ghcr.Io:0443/acme/app:v1',
        'GHCR.IO:000443/acme/app:v1',
      ],
      [`ghcr.io/acme/app:v1@${SHA256}`, `GHCR.IO:443/acme/app:v1@${SHA256}`, `ghcr.io:0443/acme/app:v1@${SHA256}`],
      [
        'nginx:1.27',
        'library/nginx:1.27',
        'docker.io/nginx:1.27',
        'docker.io/library/nginx:1.27',
        'DOCKER.IO/nginx:1.27',
        'docker.io:443/library/nginx:1.27',
        'index.docker.io/nginx:1.27',
        'Index.Docker.Io/library/nginx:1.27',
        'registry-1.docker.io/nginx:1.27',
        'registry-1.docker.io:0443/library/nginx:1.27',
      ],
      [
        `nginx:1.27@${SHA256}`,
        `library/nginx:1.27@${SHA256}`,
        `docker.io/library/nginx:1.27@${SHA256}`,
        `index.docker.io:443/nginx:1.27@${SHA256}`,
      ],
      [`nginx@${SHA256}`, `docker.io/library/nginx@${SHA256}`, `REGISTRY-1.DOCKER.IO/nginx@${SHA256}`],
      ['acme/app', 'docker.io/acme/app', 'index.docker.io/acme/app:latest', 'DOCKER.IO:443/acme/app'],
      ['[::1]:5000/a:v1', '[0:0::1]:5000/a:v1', '[0000::0001]:05000/a:v1', '[0:0:0:0:0:0:0:1]:5000/a:v1'],
      ['localhost/a', 'LOCALHOST/a', 'localhost:443/a', 'LocalHost:0443/a:latest'],
    ];
    const patterns = [
      '*',
      'ghcr.io/acme/*',
      'GHCR.IO/acme/*',
      'ghcr.io:443/acme/*',
      'ghcr.io:*/acme/*',
      'ghcr.io:4443/acme/*',
      '*.io/acme/app:v1',
      '*:443/*',
      'ghcr.io/acme/app:v1',
      `ghcr.io/acme/app@${SHA256}`,
      `ghcr.io/acme/app:v1@${SHA256}`,
      'docker.io/*',
      'docker.io/nginx*',
      'docker.io/library/nginx*',
      'docker.io/library/*',
      'index.docker.io/nginx:1.27',
      'registry-1.docker.io:443/library/nginx:1.27',
      '*.docker.io/*',
      'registry-?.docker.io/*',
      '?ocker.io/nginx:*',
      'nginx*',
      'library/nginx*',
      '*nginx*',
      '*/library/*',
      '*:1.27',
      '*@sha256:*',
      'docker.io/acme/*',
      'acme/*',
      '[::1]:5000/*',
      '[0::1]:5000/a:*',
      'localhost/*',
      'localhost:*/*',
      'LOCALHOST/*',
    ];

    it.each(groups.map((group) => [group[0]!, group]))(
      'every pattern gives one outcome for every spelling of %j',
      (_first, group) => {
        for (const source of patterns) {
          const pattern = compileImageReferencePattern(source);
          const refs = group.map(parse);
          const outcomes = new Set(refs.map((ref) => pattern.matches(ref)));
          const pulled = new Set(refs.map((ref) => pattern.matchesPulledImage(ref)));
          expect({ source, outcomes: [...outcomes], pulled: [...pulled] }).toEqual({
            source,
            outcomes: [...outcomes].slice(0, 1),
            pulled: [...pulled].slice(0, 1),
          });
        }
      },
    );

    it.each(groups.map((group) => [group[0]!, group]))(
      'every spelling of %j names the same canonical image',
      (_first, group) => {
        const canonical = new Set(group.map((text) => JSON.stringify(toCanonicalImageRef(parse(text)))));
        expect(canonical.size).toBe(1);
      },
    );

    it('a tag beside a digest never changes whether the pulled image matches', () => {
      const images = [`ghcr.io/acme/app@${SHA256}`, `docker.io/library/nginx@${SHA256}`, `localhost:5000/a@${SHA256}`];
      for (const source of patterns) {
        const pattern = compileImageReferencePattern(source);
        for (const image of images) {
          const untagged = parse(image);
          for (const tag of ['v1', '1.27', 'latest', 'V1']) {
            const tagged = { ...untagged, tag };
            expect({ source, image, tag, pulled: pattern.matchesPulledImage(tagged) }).toEqual({
              source,
              image,
              tag,
              pulled: pattern.matchesPulledImage(untagged),
            });
          }
        }
      }
    });
  });
});
