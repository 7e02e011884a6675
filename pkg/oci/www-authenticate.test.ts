import { parseWwwAuthenticate } from './www-authenticate.js';

function errorOf(header: string): string {
  const result = parseWwwAuthenticate(header);
  if (result.ok) throw new Error(`expected ${JSON.stringify(header)} not to parse`);
  return result.error;
}

describe('parseWwwAuthenticate', () => {
  describe('when Docker Hub asks for a pull token', () => {
    it('returns the realm, service and scope', () => {
      const header =
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"';
      expect(parseWwwAuthenticate(header)).toEqual({
        ok: true,
        value: {
          scheme: 'bearer',
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/nginx:pull',
        },
      });
    });
  });

  describe('when GHCR asks for a token with several actions in the scope', () => {
    it('keeps the comma inside the quoted scope', () => {
      const result = parseWwwAuthenticate(
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/app:pull,push"',
      );
      expect(result.ok && result.value).toEqual({
        scheme: 'bearer',
        realm: 'https://ghcr.io/token',
        service: 'ghcr.io',
        scope: 'repository:org/app:pull,push',
      });
    });
  });

  describe('when the token is insufficient for the scope', () => {
    it('ignores the error parameter and returns the challenge', () => {
      const result = parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",' +
          'scope="repository:library/nginx:pull",error="insufficient_scope"',
      );
      expect(result.ok && result.value).toEqual({
        scheme: 'bearer',
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull',
      });
    });
  });

  describe('when the challenge has no service or scope', () => {
    it('returns only the realm', () => {
      const result = parseWwwAuthenticate('Bearer realm="http://localhost:5000/token"');
      expect(result.ok && result.value).toEqual({ scheme: 'bearer', realm: 'http://localhost:5000/token' });
    });
  });

  describe('when the scheme and parameter names are not lower-case', () => {
    it.each(['BEARER REALM="https://r.example/token"', 'bearer Realm="https://r.example/token"'])(
      'matches them case-insensitively in %j',
      (header) => {
        const result = parseWwwAuthenticate(header);
        expect(result.ok && result.value).toEqual({ scheme: 'bearer', realm: 'https://r.example/token' });
      },
    );
  });

  describe('when parameter values are bare tokens', () => {
    it('reads them as values', () => {
      const result = parseWwwAuthenticate('Bearer realm="https://r.example/token",service=registry.example');
      expect(result.ok && result.value).toMatchObject({ service: 'registry.example' });
    });
  });

  describe('when a quoted value has backslash escapes', () => {
    it('unescapes them', () => {
      const result = parseWwwAuthenticate('Basic realm="say \\"hello\\" \\\\ bye"');
      expect(result.ok && result.value).toEqual({ scheme: 'basic', realm: 'say "hello" \\ bye' });
    });
  });

  describe('when there is extra whitespace and empty list elements', () => {
    it('parses the challenge', () => {
      const result = parseWwwAuthenticate(
        '  Bearer   realm = "https://r.example/token" ,\t, service\t=\t"r.example" ,scope="repository:a/b:pull"  ',
      );
      expect(result.ok && result.value).toEqual({
        scheme: 'bearer',
        realm: 'https://r.example/token',
        service: 'r.example',
        scope: 'repository:a/b:pull',
      });
    });
  });

  describe('when unknown parameters are present', () => {
    it('ignores them', () => {
      const result = parseWwwAuthenticate('Bearer realm="https://r.example/token",charset="UTF-8",foo=bar');
      expect(result.ok && result.value).toEqual({ scheme: 'bearer', realm: 'https://r.example/token' });
    });
  });

  describe('when the registry asks for Basic', () => {
    it('returns the realm', () => {
      expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual({
        ok: true,
        value: { scheme: 'basic', realm: 'Registry Realm' },
      });
    });

    it('accepts a Basic challenge without parameters', () => {
      expect(parseWwwAuthenticate('Basic')).toEqual({ ok: true, value: { scheme: 'basic' } });
    });

    it('does not require the Basic realm to be a URL', () => {
      expect(parseWwwAuthenticate('basic realm=registry')).toEqual({
        ok: true,
        value: { scheme: 'basic', realm: 'registry' },
      });
    });
  });

  describe('when the header offers several challenges', () => {
    it('picks Bearer over an earlier Basic', () => {
      const result = parseWwwAuthenticate(
        'Basic realm="Registry", Bearer realm="https://r.example/token",service="r.example"',
      );
      expect(result.ok && result.value).toEqual({
        scheme: 'bearer',
        realm: 'https://r.example/token',
        service: 'r.example',
      });
    });

    it('picks Bearer over a later Basic', () => {
      const result = parseWwwAuthenticate('Bearer realm="https://r.example/token", Basic realm="Registry"');
      expect(result.ok && result.value).toEqual({ scheme: 'bearer', realm: 'https://r.example/token' });
    });

    it('steps over unknown schemes, including ones with a token68 value', () => {
      const result = parseWwwAuthenticate('Negotiate YIIBzgYGKwYBBQUCoIIBwjCCAb6gMDAu==, NTLM, Basic realm="corp"');
      expect(result.ok && result.value).toEqual({ scheme: 'basic', realm: 'corp' });
    });

    it('steps over unknown schemes with parameters', () => {
      const result = parseWwwAuthenticate('Digest realm="r", nonce="abc,def", qop=auth, Basic realm="corp"');
      expect(result.ok && result.value).toEqual({ scheme: 'basic', realm: 'corp' });
    });
  });

  describe('when Bearer has no realm', () => {
    it('fails', () => {
      expect(errorOf('Bearer service="registry.docker.io"')).toMatch(/no realm/);
    });

    it('fails rather than fall back to an offered Basic', () => {
      expect(errorOf('Bearer service="r.example", Basic realm="r"')).toMatch(/no realm/);
    });
  });

  describe('when the realm is not an absolute http(s) URL', () => {
    it.each(['/token', 'auth.docker.io/token', 'ftp://auth.example/token', 'file:///etc/passwd', ''])(
      'fails for realm %j',
      (realm) => {
        expect(errorOf(`Bearer realm="${realm}"`)).toMatch(/not an absolute http\(s\) URL/);
      },
    );
  });

  describe('when only unknown schemes are offered', () => {
    it('fails and names the schemes', () => {
      const error = errorOf('Negotiate, NTLM');
      expect(error).toContain('"Negotiate"');
      expect(error).toContain('"NTLM"');
    });
  });

  describe('when the header is empty', () => {
    it.each(['', '   ', ', ,'])('fails for %j', (header) => {
      expect(errorOf(header)).toMatch(/no challenge/);
    });
  });

  describe('when the header is malformed', () => {
    it.each([
      ['an unterminated quoted string', 'Bearer realm="https://r.example/token'],
      ['a dangling backslash', 'Bearer realm="https://r.example/token\\'],
      ['a parameter without a value', 'Bearer realm="https://r.example/token",service='],
      ['a parameter before any scheme', 'realm="https://r.example/token"'],
      ['no space after the scheme', 'Bearer"x"'],
      ['parameters not separated by commas', 'Bearer realm="https://r.example/token" service="r"'],
      ['a repeated realm', 'Bearer realm="https://a.example/token",realm="https://b.example/token"'],
      ['a control character in a quoted string', 'Bearer realm="https://r.example/\ntoken"'],
      ['a token68 followed by parameters', 'Negotiate abc==, realm="x"'],
    ])('fails for %s', (_what, header) => {
      expect(parseWwwAuthenticate(header).ok).toBe(false);
    });
  });

  describe('when the header is longer than 8 KiB', () => {
    it('fails without parsing it', () => {
      const header = `Bearer realm="https://r.example/token",scope="${'a'.repeat(8 * 1024)}"`;
      expect(errorOf(header)).toMatch(/over the 8192-byte limit/);
    });

    it('accepts a header of exactly 8 KiB', () => {
      const prefix = 'Bearer realm="https://r.example/token",scope="';
      const header = `${prefix}${'a'.repeat(8 * 1024 - prefix.length - 1)}"`;
      expect(header).toHaveLength(8 * 1024);
      expect(parseWwwAuthenticate(header).ok).toBe(true);
    });
  });

  describe('when a hostile registry sends a long garbage scheme', () => {
    it('quotes only a short excerpt of it in the error', () => {
      const error = errorOf(`X${'y'.repeat(5000)}`);
      expect(error.length).toBeLessThan(200);
    });
  });
});
