import {
  formatImageRef,
  parseImageRef,
  toCanonicalImageRef,
  toKyvernoString,
  toRegistryHost,
  toWireRepository,
  withDigest,
  type ImageRef,
} from './image-ref.js';

// Cases follow distribution/reference's reference_test.go and normalize_test.go, go-containerregistry's
// pkg/name tests and Kyverno's pkg/utils/image/infos_test.go.

const HEX64 = 'dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f';
const SHA256 = `sha256:${HEX64}`;
const SHA512 = `sha512:${'f'.repeat(128)}`;
const IMAGE_ID = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

function parse(text: string): ImageRef {
  const result = parseImageRef(text);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got: ${result.error}`);
  return result.value;
}

function parseError(text: string): string {
  const result = parseImageRef(text);
  if (result.ok) throw new Error(`expected ${JSON.stringify(text)} to fail, got: ${JSON.stringify(result.value)}`);
  return result.error;
}

describe('parseImageRef', () => {
  describe('when the name has no registry', () => {
    const cases: [input: string, repository: string, tag: string][] = [
      ['nginx', 'nginx', 'latest'],
      ['nginx:v10.3', 'nginx', 'v10.3'],
      ['test/nginx', 'test/nginx', 'latest'],
      ['library/debian', 'library/debian', 'latest'],
      ['docker/migrator', 'docker/migrator', 'latest'],
      ['test_com', 'test_com', 'latest'],
      ['test_com/foo', 'test_com/foo', 'latest'],
      ['test.com:tag', 'test.com', 'tag'],
      ['test.com:5000', 'test.com', '5000'],
      ['foo_bar.com:8080', 'foo_bar.com', '8080'],
      ['foo/foo_bar.com:8080', 'foo/foo_bar.com', '8080'],
      ['192.168.1.1', '192.168.1.1', 'latest'],
      ['192.168.1.1:5000', '192.168.1.1', '5000'],
      ['localhost', 'localhost', 'latest'],
      ['lowercase:Uppercase', 'lowercase', 'Uppercase'],
      [
        'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
        'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
        'latest',
      ],
      ['dbcc1', 'dbcc1', 'latest'],
    ];
    it.each(cases)('reads %j as a Docker Hub repository %j with tag %j', (input, repository, tag) => {
      expect(parse(input)).toEqual({ registry: 'docker.io', repository, tag });
    });

    it('does not add library/ to single-component names', () => {
      expect(parse('nginx').repository).toBe('nginx');
    });
  });

  describe('when the first component looks like a registry', () => {
    const cases: [input: string, registry: string, repository: string, tag: string][] = [
      ['test.com/repo:tag', 'test.com', 'repo', 'tag'],
      ['test:5000/repo', 'test:5000', 'repo', 'latest'],
      ['test-com:8080/foo', 'test-com:8080', 'foo', 'latest'],
      ['test.com:8080/foo', 'test.com:8080', 'foo', 'latest'],
      ['localhost/netd:v0.4.4-gke.0', 'localhost', 'netd', 'v0.4.4-gke.0'],
      ['localhost:4443/test/nginx', 'localhost:4443', 'test/nginx', 'latest'],
      ['127.0.0.1:5000/a/b', '127.0.0.1:5000', 'a/b', 'latest'],
      ['192.168.1.1/repo', '192.168.1.1', 'repo', 'latest'],
      ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000', 'repo', '5050'],
      ['192.168.0.1:8/debian', '192.168.0.1:8', 'debian', 'latest'],
      ['[::1]:5000/a', '[::1]:5000', 'a', 'latest'],
      ['[2001:db8::1]/repo', '[2001:db8::1]', 'repo', 'latest'],
      ['[2001:db8::]:5000/repo', '[2001:db8::]:5000', 'repo', 'latest'],
      ['[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]', 'repo', 'tag'],
      ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000', 'library/debian', 'latest'],
      ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag'],
      ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io', 'test.example.com/my-app', 'test.example.com'],
      ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com', 'myimage', 'xn--n3h.com'],
      ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo', 'latest'],
      [
        'gcr.io/project-id/image:w1th-alpha_num3ric.PLUScaps',
        'gcr.io',
        'project-id/image',
        'w1th-alpha_num3ric.PLUScaps',
      ],
      ['gcr.io/google.com/g-convoy/hello-world:latest', 'gcr.io', 'google.com/g-convoy/hello-world', 'latest'],
      ['domain.with.port:9001/image:latest', 'domain.with.port:9001', 'image', 'latest'],
      ['www.example.test:12345/repo/path', 'www.example.test:12345', 'repo/path', 'latest'],
    ];
    it.each(cases)('reads %j as registry %j, repository %j, tag %j', (input, registry, repository, tag) => {
      expect(parse(input)).toEqual({ registry, repository, tag });
    });
  });

  describe('when the first component has upper case letters', () => {
    const cases: [input: string, registry: string, repository: string][] = [
      ['Docker/docker', 'docker', 'docker'],
      ['DOCKER/docker', 'docker', 'docker'],
      ['Foo/bar', 'foo', 'bar'],
    ];
    it.each(cases)('treats it as a registry, in lower case as DNS reads it: %j', (input, registry, repository) => {
      expect(parse(input)).toEqual({ registry, repository, tag: 'latest' });
    });
  });

  describe('when the registry host is upper case', () => {
    const cases: [input: string, registry: string][] = [
      ['GHCR.IO/acme/app:v1', 'ghcr.io'],
      ['Ghcr.Io/acme/app:v1', 'ghcr.io'],
      ['LOCALHOST:5000/acme/app:v1', 'localhost:5000'],
      ['[2001:DB8::1]:5000/acme/app:v1', '[2001:db8::1]:5000'],
    ];
    it.each(cases)('reads %j with registry %j', (input, registry) => {
      expect(parse(input)).toEqual({ registry, repository: 'acme/app', tag: 'v1' });
    });

    it('gives the string a pattern written in lower case matches', () => {
      expect(toKyvernoString(parse('GHCR.IO/acme/app:v1'))).toBe('ghcr.io/acme/app:v1');
    });
  });

  describe('when the registry names the default HTTPS port', () => {
    const cases: [input: string, registry: string][] = [
      ['ghcr.io:443/acme/app', 'ghcr.io'],
      ['GHCR.IO:443/acme/app', 'ghcr.io'],
      ['ghcr.io:0443/acme/app', 'ghcr.io'],
      ['ghcr.io:000443/acme/app', 'ghcr.io'],
      ['localhost:443/acme/app', 'localhost'],
      ['[::1]:443/acme/app', '[::1]'],
      ['127.0.0.1:443/acme/app', '127.0.0.1'],
    ];
    it.each(cases)('drops it from %j', (input, registry) => {
      expect(parse(input)).toEqual({ registry, repository: 'acme/app', tag: 'latest' });
    });
  });

  describe('when the registry names another port', () => {
    const cases: [input: string, registry: string][] = [
      ['ghcr.io:4443/acme/app', 'ghcr.io:4443'],
      ['ghcr.io:44/acme/app', 'ghcr.io:44'],
      ['ghcr.io:4430/acme/app', 'ghcr.io:4430'],
      ['localhost:05000/acme/app', 'localhost:5000'],
      ['localhost:0/acme/app', 'localhost:0'],
      ['localhost:80/acme/app', 'localhost:80'],
    ];
    it.each(cases)('keeps it, without leading zeros, in %j', (input, registry) => {
      expect(parse(input)).toEqual({ registry, repository: 'acme/app', tag: 'latest' });
    });
  });

  describe('when the registry is an IPv6 address written the long way', () => {
    const cases: [input: string, registry: string][] = [
      ['[0:0:0:0:0:0:0:1]:5000/a', '[::1]:5000'],
      ['[0::0001]:5000/a', '[::1]:5000'],
      ['[2001:0DB8:0:0:1:0:0:1]/a', '[2001:db8::1:0:0:1]'],
    ];
    it.each(cases)('reads %j with registry %j, in RFC 5952 form', (input, registry) => {
      expect(parse(input).registry).toBe(registry);
    });
  });

  describe('when the registry is Docker Hub under another name', () => {
    const cases: [input: string, repository: string][] = [
      ['docker.io/debian', 'debian'],
      ['docker.io/library/debian', 'library/debian'],
      ['index.docker.io/library/nginx', 'library/nginx'],
      ['index.docker.io/debian', 'debian'],
      ['registry-1.docker.io/foo/bar', 'foo/bar'],
      ['Docker.IO/foo/bar', 'foo/bar'],
      ['INDEX.DOCKER.IO/foo', 'foo'],
    ];
    it.each(cases)('normalises %j to docker.io and keeps the path as written', (input, repository) => {
      expect(parse(input)).toEqual({ registry: 'docker.io', repository, tag: 'latest' });
    });

    it('reads a Docker Hub name with the default HTTPS port as Docker Hub', () => {
      expect(parse('docker.io:443/foo').registry).toBe('docker.io');
      expect(parse('REGISTRY-1.DOCKER.IO:0443/foo').registry).toBe('docker.io');
    });

    it('keeps a Docker Hub name with another port as a registry of its own', () => {
      expect(parse('docker.io:5000/foo').registry).toBe('docker.io:5000');
    });
  });

  describe('when path components use separators', () => {
    it.each([
      'docker-rules/docker',
      'docker---rules/docker',
      'dock__er/docker',
      'x/a.b_c__d---e.f',
      'd/docker',
      'jess/t',
    ])('accepts %j', (input) => {
      expect(parse(input).repository).toBe(input);
    });
  });

  describe('when a digest is given', () => {
    const cases: [input: string, expected: ImageRef][] = [
      ['docker.io/test/centos@' + SHA256, { registry: 'docker.io', repository: 'test/centos', digest: SHA256 }],
      ['test:5000/repo@' + SHA256, { registry: 'test:5000', repository: 'repo', digest: SHA256 }],
      ['nginx@' + SHA256, { registry: 'docker.io', repository: 'nginx', digest: SHA256 }],
      ['ghcr.io/org/app:v1@' + SHA256, { registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest: SHA256 }],
      [
        '[2001:db8::1]:5000/repo:tag@' + SHA256,
        { registry: '[2001:db8::1]:5000', repository: 'repo', tag: 'tag', digest: SHA256 },
      ],
      [
        'xn--7o8h.com/myimage:xn--7o8h.com@' + SHA512,
        { registry: 'xn--7o8h.com', repository: 'myimage', tag: 'xn--7o8h.com', digest: SHA512 },
      ],
      [`docker.io/${IMAGE_ID}@${SHA256}`, { registry: 'docker.io', repository: IMAGE_ID, digest: SHA256 }],
    ];
    it.each(cases)('reads %j without adding a default tag', (input, expected) => {
      const ref = parse(input);
      expect(ref).toEqual(expected);
      expect(Object.keys(ref)).toEqual(Object.keys(expected));
    });
  });

  describe('when a tag is at the edge of the grammar', () => {
    it.each(['_tag', '0', 'A', 'v1.2.3-rc.1_build', 'a'.repeat(128)])('accepts %j', (tag) => {
      expect(parse(`nginx:${tag}`).tag).toBe(tag);
    });
  });

  describe('when the input is empty or padded', () => {
    const cases: [input: string, message: string][] = [
      ['', 'invalid image reference "": must not be empty'],
      [' nginx', 'invalid image reference " nginx": must not have leading or trailing whitespace'],
      ['nginx ', 'invalid image reference "nginx ": must not have leading or trailing whitespace'],
      ['nginx\n', 'invalid image reference "nginx\\n": must not have leading or trailing whitespace'],
      ['\tnginx', 'invalid image reference "\\tnginx": must not have leading or trailing whitespace'],
    ];
    it.each(cases)('rejects %j', (input, message) => {
      expect(parseImageRef(input)).toEqual({ ok: false, error: message });
    });
  });

  describe('when the repository has upper case letters', () => {
    it.each([
      'Uppercase',
      'Uppercase:tag',
      'docker/Docker',
      'docker.io/docker/Docker',
      'test:5000/Uppercase/lowercase:tag',
    ])('rejects %j saying the repository must be lowercase', (input) => {
      expect(parseError(input)).toBe(
        `invalid image reference ${JSON.stringify(input)}: repository name must be lowercase`,
      );
    });
  });

  describe('when the repository is missing', () => {
    it.each([':justtag', `@${SHA256}`, 'localhost/', 'example.com/'])('rejects %j', (input) => {
      expect(parseError(input)).toContain('repository name is missing');
    });
  });

  describe('when a path component breaks the grammar', () => {
    it.each([
      'aa/asdf$$^/aa',
      '-docker',
      '-docker/docker',
      'docker-/docker',
      '-docker-/docker',
      '____/____',
      '_docker/_docker',
      'x/dock..er/docker',
      'x/dock_.er/docker',
      'x/dock-.er/docker',
      'dock___er/docker',
      'docker///docker',
      'docker.io/docker///docker',
      'docker/',
      'foo_',
      'foo.',
      'foo-',
      'foo/bar/',
      '/foo',
      '++',
      'nginx:tag:tag',
      'a/b:c/d',
      '[fc00::1]',
      '[fc00::1]:5000',
      '[2001:db8::1]:tag',
      'white space',
      'naïve',
    ])('rejects %j', (input) => {
      expect(parseError(input)).toMatch(/^invalid image reference ".*": repository ".*" is not valid/);
    });
  });

  describe('when the registry breaks the grammar', () => {
    const cases: [input: string, registry: string][] = [
      ['https://github.com/docker/docker', 'https:'],
      ['-docker.io/docker/docker', '-docker.io'],
      ['docker-.io/docker', 'docker-.io'],
      ['fc00::1:5000/debian', 'fc00::1:5000'],
      ['[fe80::1%eth0]:5000/debian', '[fe80::1%eth0]:5000'],
      ['[2001:db8:3:4::192.0.2.33]:5000/debian', '[2001:db8:3:4::192.0.2.33]:5000'],
      ['[]:5000/debian', '[]:5000'],
      ['example.com:port/x', 'example.com:port'],
      ['example.com:/x', 'example.com:'],
      ['example..com/x', 'example..com'],
      ['dock_.er/docker', 'dock_.er'],
      ['dock-.er/docker', 'dock-.er'],
      ['foo_bar.com/x', 'foo_bar.com'],
      ['Foo_Bar/baz', 'Foo_Bar'],
    ];
    it.each(cases)('rejects %j naming the registry', (input, registry) => {
      expect(parseError(input)).toBe(
        `invalid image reference ${JSON.stringify(input)}: registry ${JSON.stringify(registry)} is not a valid host[:port]`,
      );
    });
  });

  describe('when the name is a bare 64-character hex string', () => {
    it('rejects it as an image ID', () => {
      expect(parseError(IMAGE_ID)).toContain('image ID');
    });

    it('accepts it with an explicit registry or a tag', () => {
      expect(parse(`docker.io/${IMAGE_ID}`).repository).toBe(IMAGE_ID);
      expect(parse(`${IMAGE_ID}:v1`).repository).toBe(IMAGE_ID);
    });
  });

  describe('when the tag breaks the grammar', () => {
    const cases: [input: string, tag: string][] = [
      ['nginx:', ''],
      ['nginx:-tag', '-tag'],
      ['nginx:.tag', '.tag'],
      ['gcr.io/project-id/wrong-length:white space', 'white space'],
      [`nginx:${'a'.repeat(129)}`, 'a'.repeat(129)],
      [
        'gcr.io/project-id/too-many-chars:thisisthetagthatneverendsitgoesonandonmyfriendsomepeoplestartedtaggingitnotknowingwhatitwasandtheyllcontinuetaggingitforeverjustbecausethisisthetagthatneverends',
        'thisisthetagthatneverendsitgoesonandonmyfriendsomepeoplestartedtaggingitnotknowingwhatitwasandtheyllcontinuetaggingitforeverjustbecausethisisthetagthatneverends',
      ],
      ['nginx:tåg', 'tåg'],
    ];
    it.each(cases)('rejects %j naming the tag', (input, tag) => {
      expect(parseError(input)).toContain(`tag ${JSON.stringify(tag)} is not valid`);
    });
  });

  describe('when the digest is not acceptable', () => {
    const cases: [input: string, digest: string, problem: string][] = [
      ['repo@sha256:' + 'f'.repeat(34), 'sha256:' + 'f'.repeat(34), 'must have exactly 64 lowercase hex'],
      ['repo@sha256:' + 'f'.repeat(65), 'sha256:' + 'f'.repeat(65), 'must have exactly 64 lowercase hex'],
      ['repo@sha256:' + HEX64.toUpperCase(), 'sha256:' + HEX64.toUpperCase(), 'must have exactly 64 lowercase hex'],
      ['repo@sha256:' + 'g'.repeat(64), 'sha256:' + 'g'.repeat(64), 'must have exactly 64 lowercase hex'],
      ['repo@sha512:' + HEX64, 'sha512:' + HEX64, 'must have exactly 128 lowercase hex'],
      ['repo@sha256:', 'sha256:', 'must have exactly 64 lowercase hex'],
      [`repo@${SHA256}@${SHA256}`, `${SHA256}@${SHA256}`, 'must have exactly 64 lowercase hex'],
      ['validname@invaliddigest:' + HEX64, 'invaliddigest:' + HEX64, 'unsupported algorithm'],
      ['repo@md5:' + 'f'.repeat(32), 'md5:' + 'f'.repeat(32), 'unsupported algorithm'],
      ['repo@sha384:' + 'f'.repeat(96), 'sha384:' + 'f'.repeat(96), 'unsupported algorithm'],
      ['repo@SHA256:' + HEX64, 'SHA256:' + HEX64, 'unsupported algorithm'],
      ['repo@' + HEX64, HEX64, 'is not of the form algorithm:hex'],
      ['repo@', '', 'is not of the form algorithm:hex'],
      ["gcr.io/project-id/bad_chars:c@n'tuse", "n'tuse", 'is not of the form algorithm:hex'],
    ];
    it.each(cases)('rejects %j naming the digest', (input, digest, problem) => {
      const message = parseError(input);
      expect(message).toContain(`digest ${JSON.stringify(digest)}`);
      expect(message).toContain(problem);
    });
  });

  describe('when the name is near the 255-character limit', () => {
    it('accepts a name of exactly 255 characters', () => {
      const path = 'a'.repeat(255 - 'example.com/'.length);
      expect(parse(`example.com/${path}:tag-puts-this-over-max`).repository).toBe(path);
    });

    it('rejects a name of 256 characters', () => {
      const path = 'a'.repeat(256 - 'example.com/'.length);
      expect(parseError(`example.com/${path}`)).toContain('must not be longer than 255 characters');
    });

    it('rejects deep paths that add up to too much', () => {
      expect(parseError(`${'a/'.repeat(128)}a:tag`)).toContain('must not be longer than 255 characters');
    });

    it('counts the implied docker.io/ against the limit, as Kyverno does', () => {
      expect(parse('a'.repeat(245)).repository).toHaveLength(245);
      expect(parseError('a'.repeat(246))).toContain('must not be longer than 255 characters');
    });

    it('measures the name after Docker Hub aliases are normalised', () => {
      const path = 'a'.repeat(245);
      expect(parse(`registry-1.docker.io/${path}`)).toEqual({ registry: 'docker.io', repository: path, tag: 'latest' });
    });

    it('does not count the tag or digest', () => {
      const path = 'a'.repeat(255 - 'example.com/'.length);
      expect(parse(`example.com/${path}:${'t'.repeat(128)}@${SHA512}`).digest).toBe(SHA512);
    });
  });

  describe('when the input is very long', () => {
    it('rejects it and cuts the quoted input short', () => {
      const message = parseError('a'.repeat(100_000));
      expect(message).toContain('must not be longer than 1024 characters');
      expect(message.length).toBeLessThan(500);
      expect(message).toContain('…');
    });

    it('answers promptly for input built to make the grammar backtrack', () => {
      const started = Date.now();
      parseImageRef(`${'a-'.repeat(500)}_/x`);
      parseImageRef(`${'a'.repeat(1000)}-.com/x`);
      parseImageRef(`x/${'a__'.repeat(300)}_`);
      expect(Date.now() - started).toBeLessThan(1000);
    });
  });

  describe('when the input is anything at all', () => {
    it.each(['\u0000', '@', ':', '/', '//', 'a@b:c', '[', ']', '[::1]/', 'a:b@c:d/e', '\uD800'])(
      'returns a result instead of throwing for %j',
      (input) => {
        expect(() => parseImageRef(input)).not.toThrow();
        expect(parseImageRef(input).ok).toBe(false);
      },
    );
  });
});

describe('toKyvernoString', () => {
  describe('when the reference is parsed from a pod spec', () => {
    const cases: [input: string, expected: string][] = [
      ['nginx', 'docker.io/nginx:latest'],
      ['nginx:v10.3', 'docker.io/nginx:v10.3'],
      ['docker.io/test/nginx:v10.3', 'docker.io/test/nginx:v10.3'],
      ['test/nginx', 'docker.io/test/nginx:latest'],
      ['localhost:4443/test/nginx', 'localhost:4443/test/nginx:latest'],
      ['docker.io/test/centos@' + SHA256, 'docker.io/test/centos@' + SHA256],
      ['ghcr.io/org/app:v1@' + SHA256, 'ghcr.io/org/app@' + SHA256],
      ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
      ['[::1]:5000/a', '[::1]:5000/a:latest'],
      ['Foo/bar', 'foo/bar:latest'],
      ['ghcr.io:443/org/app:v1', 'ghcr.io/org/app:v1'],
    ];
    it.each(cases)('renders %j as %j', (input, expected) => {
      expect(toKyvernoString(parse(input))).toBe(expected);
    });
  });

  describe('when a reference is built with neither tag nor digest', () => {
    it('implies latest', () => {
      expect(toKyvernoString({ registry: 'ghcr.io', repository: 'app' })).toBe('ghcr.io/app:latest');
    });
  });
});

describe('toWireRepository', () => {
  describe('when the repository is on Docker Hub', () => {
    const cases: [input: string, expected: string][] = [
      ['nginx', 'library/nginx'],
      ['docker.io/nginx', 'library/nginx'],
      ['index.docker.io/nginx', 'library/nginx'],
      ['library/nginx', 'library/nginx'],
      ['test/nginx', 'test/nginx'],
      ['library/foo/bar', 'library/foo/bar'],
      ['docker.io:443/nginx', 'library/nginx'],
    ];
    it.each(cases)('sends %j as %j', (input, expected) => {
      expect(toWireRepository(parse(input))).toBe(expected);
    });
  });

  describe('when the repository is elsewhere', () => {
    it.each([
      ['ghcr.io/app', 'app'],
      ['localhost/nginx', 'nginx'],
      ['docker.io:5000/nginx', 'nginx'],
    ])('sends %j as %j, without library/', (input, expected) => {
      expect(toWireRepository(parse(input))).toBe(expected);
    });
  });
});

describe('toRegistryHost', () => {
  describe('when the registry is Docker Hub', () => {
    it.each(['nginx', 'docker.io/a/b', 'registry-1.docker.io/a/b', 'index.docker.io/a'])(
      'connects to index.docker.io for %j',
      (input) => {
        expect(toRegistryHost(parse(input))).toBe('index.docker.io');
      },
    );
  });

  describe('when the registry is elsewhere', () => {
    it.each([
      ['ghcr.io/org/app', 'ghcr.io'],
      ['localhost:5000/a', 'localhost:5000'],
      ['[::1]:5000/a', '[::1]:5000'],
      ['127.0.0.1:5000/a/b', '127.0.0.1:5000'],
      ['GHCR.IO:443/org/app', 'ghcr.io'],
    ])('connects to the normalised registry for %j', (input, expected) => {
      expect(toRegistryHost(parse(input))).toBe(expected);
    });
  });
});

describe('withDigest', () => {
  describe('when the reference has a tag', () => {
    it('keeps the tag and adds the digest', () => {
      expect(withDigest(parse('ghcr.io/org/app:v1'), SHA256)).toEqual({
        registry: 'ghcr.io',
        repository: 'org/app',
        tag: 'v1',
        digest: SHA256,
      });
    });

    it('leaves the original untouched', () => {
      const original = parse('ghcr.io/org/app:v1');
      withDigest(original, SHA256);
      expect(original).toEqual({ registry: 'ghcr.io', repository: 'org/app', tag: 'v1' });
    });

    it('makes the Kyverno string use the digest', () => {
      expect(toKyvernoString(withDigest(parse('nginx'), SHA256))).toBe(`docker.io/nginx@${SHA256}`);
    });
  });

  describe('when the reference already has a digest', () => {
    it('replaces it', () => {
      expect(withDigest(parse(`app@${SHA256}`), SHA512).digest).toBe(SHA512);
    });
  });
});

describe('formatImageRef', () => {
  describe('when the reference has a tag, a digest or both', () => {
    const cases: [input: string, expected: string][] = [
      ['nginx', 'docker.io/nginx:latest'],
      ['index.docker.io/library/nginx:1.27', 'docker.io/library/nginx:1.27'],
      ['ghcr.io/org/app:v1@' + SHA256, 'ghcr.io/org/app:v1@' + SHA256],
      ['ghcr.io/org/app@' + SHA256, 'ghcr.io/org/app@' + SHA256],
      ['[2001:db8::1]:5000/repo', '[2001:db8::1]:5000/repo:latest'],
      ['GHCR.IO:443/org/app', 'ghcr.io/org/app:latest'],
    ];
    it.each(cases)('renders %j as %j', (input, expected) => {
      expect(formatImageRef(parse(input))).toBe(expected);
    });
  });

  describe('when the output is parsed again', () => {
    it.each([
      'nginx',
      'test.com:5000',
      'Foo/bar:Tag',
      'registry-1.docker.io/a/b',
      'localhost:4443/test/nginx',
      `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`,
      `docker.io/test/centos@${SHA256}`,
      `[::1]:5000/a:v1@${SHA256}`,
      `registry-1.docker.io/${'a'.repeat(245)}`,
      'GHCR.IO:0443/org/app',
      'Foo:443/bar',
      '[0::1]:05000/a',
    ])('gives back the same reference for %j', (input) => {
      const ref = parse(input);
      expect(parse(formatImageRef(ref))).toEqual(ref);
    });
  });

  describe('when the registry is a single label', () => {
    it('writes it in upper case, the only way it reads back as a registry rather than a Docker Hub path', () => {
      expect(formatImageRef(parse('Foo/bar:v1'))).toBe('FOO/bar:v1');
    });

    it('writes localhost as it is, since it is recognised in lower case', () => {
      expect(formatImageRef(parse('LOCALHOST/bar:v1'))).toBe('localhost/bar:v1');
    });
  });
});

describe('toCanonicalImageRef', () => {
  describe('when the image is an official Docker Hub image', () => {
    it.each(['nginx:1.27', 'library/nginx:1.27', 'docker.io/library/nginx:1.27', 'INDEX.DOCKER.IO:443/nginx:1.27'])(
      'gives %j as docker.io/nginx, as Kyverno writes nginx',
      (input) => {
        expect(toCanonicalImageRef(parse(input))).toEqual({ registry: 'docker.io', repository: 'nginx', tag: '1.27' });
      },
    );
  });

  describe('when the image is anything else', () => {
    it.each(['library/nginx/extra', 'acme/nginx', 'ghcr.io/library/nginx', 'docker.io:5000/library/nginx'])(
      'leaves %j alone',
      (input) => {
        const ref = parse(input);
        expect(toCanonicalImageRef(ref)).toEqual(ref);
      },
    );
  });

  it('keeps the tag and digest', () => {
    expect(toCanonicalImageRef(parse(`library/nginx:1.27@${SHA256}`))).toEqual({
      registry: 'docker.io',
      repository: 'nginx',
      tag: '1.27',
      digest: SHA256,
    });
  });
});
