import { classifyAddress } from './address-kind.js';

describe('classifyAddress', () => {
  describe('IPv4', () => {
    it.each([
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['169.254.169.254', 'link-local'],
      ['169.254.0.1', 'link-local'],
      ['10.0.0.5', 'private'],
      ['10.255.255.255', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['100.127.255.255', 'private'],
      ['198.18.0.1', 'private'],
      ['224.0.0.1', 'reserved'],
      ['239.255.255.250', 'reserved'],
      ['240.0.0.1', 'reserved'],
      ['255.255.255.255', 'reserved'],
      ['192.0.2.1', 'reserved'],
      ['198.51.100.7', 'reserved'],
      ['203.0.113.9', 'reserved'],
      ['192.0.0.8', 'reserved'],
    ])('%s is %s', (address, kind) => {
      expect(classifyAddress(address)).toBe(kind);
    });

    it.each([
      '8.8.8.8',
      '93.184.215.14',
      '172.15.255.255',
      '172.32.0.1',
      '100.63.255.255',
      '100.128.0.1',
      '169.253.1.1',
      '11.0.0.1',
      '192.169.0.1',
      '198.20.0.1',
    ])('%s, just outside the special ranges, is public', (address) => {
      expect(classifyAddress(address)).toBe('public');
    });
  });

  describe('IPv6', () => {
    it.each([
      ['::1', 'loopback'],
      ['[::1]', 'loopback'],
      ['0:0:0:0:0:0:0:1', 'loopback'],
      ['::', 'unspecified'],
      ['[::]', 'unspecified'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['febf::1', 'link-local'],
      ['fc00::1', 'private'],
      ['fd12:3456:789a::1', 'private'],
      ['fec0::1', 'private'],
      ['ff02::1', 'reserved'],
      ['2001:db8::1', 'reserved'],
      ['100::1', 'reserved'],
      ['2001::1', 'reserved'],
      ['4000::1', 'reserved'],
      ['::2', 'unspecified'],
    ])('%s is %s', (address, kind) => {
      expect(classifyAddress(address)).toBe(kind);
    });

    it.each(['2606:4700::6810:85e5', '[2a00:1450:4001:82b::200e]', '2001:4860:4860::8888'])(
      '%s is public',
      (address) => {
        expect(classifyAddress(address)).toBe('public');
      },
    );
  });

  describe('IPv6 forms that carry an IPv4 address', () => {
    it.each([
      ['::ffff:127.0.0.1', 'loopback'],
      ['[::ffff:7f00:1]', 'loopback'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['::ffff:a9fe:a9fe', 'link-local'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:0.0.0.0', 'unspecified'],
      ['::ffff:0:127.0.0.1', 'loopback'],
      ['::127.0.0.1', 'loopback'],
      ['::10.1.2.3', 'private'],
      ['64:ff9b::127.0.0.1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['64:ff9b:1::1', 'private'],
      ['2002:7f00:1::', 'loopback'],
      ['2002:a00:1::1', 'private'],
      ['::ffff:8.8.8.8', 'public'],
      ['64:ff9b::8.8.8.8', 'public'],
      ['2002:808:808::1', 'public'],
    ])('%s is %s', (address, kind) => {
      expect(classifyAddress(address)).toBe(kind);
    });
  });

  describe('what is not an IP literal', () => {
    it.each([
      'localhost',
      'registry.example',
      '127.0.0.1.nip.io',
      '0x7f.1',
      '2130706433',
      '127.1',
      '[127.0.0.1]',
      '::ffff:127.0.0.1.5',
      '1:2:3:4:5:6:7:8:9',
      '',
      '[',
      '[]',
    ])('%j is no literal: it is classified where it resolves', (host) => {
      expect(classifyAddress(host)).toBeUndefined();
    });
  });
});
