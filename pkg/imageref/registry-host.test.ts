import { hasExplicitPort, normaliseRegistryHost } from './registry-host.js';

describe('normaliseRegistryHost', () => {
  describe('when the host is written in upper case', () => {
    it.each([
      ['GHCR.IO', 'ghcr.io'],
      ['Ghcr.Io:5000', 'ghcr.io:5000'],
      ['LOCALHOST', 'localhost'],
      ['Foo', 'foo'],
    ])('gives %j as %j, since DNS ignores case', (host, expected) => {
      expect(normaliseRegistryHost(host)).toBe(expected);
    });
  });

  describe('when the port is 443, however written', () => {
    it.each([
      ['ghcr.io:443', 'ghcr.io'],
      ['ghcr.io:0443', 'ghcr.io'],
      ['ghcr.io:00000443', 'ghcr.io'],
      ['[::1]:443', '[::1]'],
      ['10.0.0.1:443', '10.0.0.1'],
    ])('drops it from %j, since HTTPS implies it', (host, expected) => {
      expect(normaliseRegistryHost(host)).toBe(expected);
    });
  });

  describe('when the port is another one', () => {
    it.each([
      ['ghcr.io:4443', 'ghcr.io:4443'],
      ['ghcr.io:4430', 'ghcr.io:4430'],
      ['ghcr.io:44', 'ghcr.io:44'],
      ['ghcr.io:05000', 'ghcr.io:5000'],
      ['ghcr.io:0', 'ghcr.io:0'],
      ['ghcr.io:000', 'ghcr.io:0'],
      ['[::1]:05000', '[::1]:5000'],
    ])('keeps %j as %j', (host, expected) => {
      expect(normaliseRegistryHost(host)).toBe(expected);
    });
  });

  describe('when the host is one of Docker Hub names', () => {
    it.each([
      'docker.io',
      'DOCKER.IO',
      'docker.io:443',
      'index.docker.io',
      'Index.Docker.Io:0443',
      'registry-1.docker.io',
      'registry-1.docker.io:443',
    ])('gives %j as docker.io', (host) => {
      expect(normaliseRegistryHost(host)).toBe('docker.io');
    });

    it.each(['docker.io:5000', 'index.docker.io:5000', 'evil-docker.io', 'docker.io.evil.com'])(
      'leaves %j a registry of its own',
      (host) => {
        expect(normaliseRegistryHost(host)).not.toBe('docker.io');
      },
    );
  });

  describe('when the host is an IPv6 address', () => {
    it.each([
      ['[::1]', '[::1]'],
      ['[0:0:0:0:0:0:0:1]', '[::1]'],
      ['[0000::0001]', '[::1]'],
      ['[::]', '[::]'],
      ['[0:0:0:0:0:0:0:0]', '[::]'],
      ['[2001:DB8::1]', '[2001:db8::1]'],
      ['[2001:db8:0:0:1:0:0:1]', '[2001:db8::1:0:0:1]'],
      ['[2001:db8:0:1:1:1:1:1]', '[2001:db8:0:1:1:1:1:1]'],
      ['[2001:0:0:1:0:0:0:1]', '[2001:0:0:1::1]'],
      ['[1:2:3:4:5:6:7::]', '[1:2:3:4:5:6:7:0]'],
      ['[::2:3:4:5:6:7:8]', '[0:2:3:4:5:6:7:8]'],
      ['[fe80::]:5000', '[fe80::]:5000'],
    ])('writes %j in RFC 5952 form, %j', (host, expected) => {
      expect(normaliseRegistryHost(host)).toBe(expected);
    });

    it.each(['[1]', '[:::]', '[1::2::3]', '[1:2:3:4:5:6:7:8:9]', '[1:2:3:4:5:6:7:8::]', '[12345::]', '[1:2]'])(
      'leaves %j, which is not an address, lower-cased and otherwise alone',
      (host) => {
        expect(normaliseRegistryHost(host)).toBe(host.toLowerCase());
      },
    );
  });

  describe('when the text is normalised twice', () => {
    it.each(['GHCR.IO:0443', '[0::1]:05000', 'Registry-1.Docker.Io:443', 'localhost', 'Foo:5000'])(
      'gives the same answer for %j',
      (host) => {
        const once = normaliseRegistryHost(host);
        expect(normaliseRegistryHost(once)).toBe(once);
      },
    );
  });
});

describe('hasExplicitPort', () => {
  it.each([
    ['ghcr.io', false],
    ['ghcr.io:5000', true],
    ['[::1]', false],
    ['[2001:db8::1]', false],
    ['[::1]:5000', true],
  ])('says %j has a port: %s', (registry, expected) => {
    expect(hasExplicitPort(registry)).toBe(expected);
  });
});
