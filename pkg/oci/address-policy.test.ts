import type { LookupAddress } from 'node:dns';
import {
  AddressRefusedError,
  allowedTargets,
  createFilteredLookup,
  kindsOfHost,
  nonPublicKinds,
  refusedLiteral,
} from './address-policy.js';
import type { AddressKind } from './address-kind.js';
import { fakeDns } from './testdata/fixtures.js';

const kinds = (...k: AddressKind[]) => new Set<AddressKind>(k);

function lookup(
  allowed: ReadonlySet<AddressKind>,
  table: Record<string, readonly string[]>,
  hostname: string,
  all: boolean,
): Promise<{ error: Error | null; result: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) =>
    createFilteredLookup(allowed, fakeDns(table))(hostname, { all }, (error, result, family) =>
      resolve({ error, result, ...(family === undefined ? {} : { family }) }),
    ),
  );
}

describe('kindsOfHost', () => {
  it.each([
    ['127.0.0.1:5000', ['loopback']],
    ['[::1]:5000', ['loopback']],
    ['10.0.0.5', ['private']],
    ['8.8.8.8:443', ['public']],
  ])('takes an IP literal %s at its word, without DNS', async (host, expected) => {
    const noDns = async (): Promise<string[]> => {
      throw new Error('no DNS for literals');
    };
    expect([...(await kindsOfHost(host, noDns))]).toEqual(expected);
  });

  it('resolves a host name and classifies every address', async () => {
    const dns = fakeDns({ 'registry.internal': ['10.0.0.5', '::1'] });
    expect(await kindsOfHost('registry.internal:5000', dns)).toEqual(kinds('private', 'loopback'));
  });

  it('gives no kinds for a name that does not resolve', async () => {
    expect(await kindsOfHost('nowhere.example', fakeDns({}))).toEqual(kinds());
  });
});

describe('allowedTargets', () => {
  it('allows only public addresses to a public registry', () => {
    expect(allowedTargets(kinds('public'))).toEqual(kinds('public'));
  });

  it('allows a registry’s own kind besides public ones', () => {
    expect(allowedTargets(kinds('loopback'))).toEqual(kinds('public', 'loopback'));
    expect(allowedTargets(kinds('private'))).toEqual(kinds('public', 'private'));
  });

  it('counts a name resolving to public and private addresses as public', () => {
    expect(allowedTargets(kinds('public', 'private'))).toEqual(kinds('public'));
  });

  it('allows only public addresses when the registry’s kind is unknown', () => {
    expect(allowedTargets(kinds())).toEqual(kinds('public'));
  });
});

describe('nonPublicKinds', () => {
  it('is what a token from a non-public realm is pinned to, or nothing', () => {
    expect(nonPublicKinds(kinds('public'))).toBeUndefined();
    expect(nonPublicKinds(kinds('public', 'private'))).toEqual(kinds('private'));
  });
});

describe('refusedLiteral', () => {
  it('names the kind of a literal outside the allowed ones', () => {
    expect(refusedLiteral('127.0.0.1', kinds('public'))).toBe('loopback');
    expect(refusedLiteral('[::ffff:169.254.169.254]', kinds('public'))).toBe('link-local');
  });

  it('passes an allowed literal, and leaves a host name to the lookup', () => {
    expect(refusedLiteral('127.0.0.1', kinds('public', 'loopback'))).toBeUndefined();
    expect(refusedLiteral('localhost', kinds('public'))).toBeUndefined();
  });
});

describe('createFilteredLookup', () => {
  const table = { mixed: ['127.0.0.1', '93.184.215.14', '10.0.0.1'], internal: ['127.0.0.1', '::1'] };

  it('keeps only the allowed addresses, so the socket connects to one of them', async () => {
    expect(await lookup(kinds('public'), table, 'mixed', true)).toEqual({
      error: null,
      result: [{ address: '93.184.215.14', family: 4 }],
    });
    expect(await lookup(kinds('public'), table, 'mixed', false)).toEqual({
      error: null,
      result: '93.184.215.14',
      family: 4,
    });
  });

  it('fails with AddressRefusedError when no address is allowed', async () => {
    const { error } = await lookup(kinds('public'), table, 'internal', true);
    expect(error).toBeInstanceOf(AddressRefusedError);
    expect(error?.message).toBe('internal resolves only to loopback addresses; allowed: public');
  });

  it('passes a DNS failure on as it is', async () => {
    const { error } = await lookup(kinds('public'), table, 'missing', true);
    expect(error).not.toBeInstanceOf(AddressRefusedError);
    expect((error as { code?: string }).code).toBe('ENOTFOUND');
  });

  it('uses the system resolver by default', async () => {
    const error = await new Promise<Error | null>((resolve) =>
      createFilteredLookup(kinds('public'))('localhost', { all: true }, (e) => resolve(e)),
    );
    expect(error).toBeInstanceOf(AddressRefusedError);
  });
});
