import { parseTokenResponse } from './token-response.js';

const parse = (text: string) => parseTokenResponse(Buffer.from(text));

describe('parseTokenResponse', () => {
  it('reads the token and its lifetime', () => {
    expect(parse('{"token":"abc.def","expires_in":300}')).toEqual({
      ok: true,
      value: { token: 'abc.def', expiresInSeconds: 300 },
    });
  });

  it('falls back to access_token, and to 60 seconds', () => {
    expect(parse('{"access_token":"xyz"}')).toEqual({ ok: true, value: { token: 'xyz', expiresInSeconds: 60 } });
    expect(parse('{"token":"","access_token":"xyz","expires_in":-5}')).toEqual({
      ok: true,
      value: { token: 'xyz', expiresInSeconds: 60 },
    });
  });

  it('believes no lifetime longer than a day', () => {
    expect(parse('{"token":"t","expires_in":1e308}').ok && parse('{"token":"t","expires_in":1e308}')).toMatchObject({
      value: { expiresInSeconds: 86_400 },
    });
  });

  it.each([
    ['null', 'not an object'],
    ['[]', 'not an object'],
    ['"token"', 'not an object'],
    ['{"token": 5}', 'no token'],
    ['{"token": {"a": 1}}', 'no token'],
    ['{"token": "a\\r\\nX-Injected: 1"}', 'cannot be sent in a header'],
    ['{"token": "two words"}', 'cannot be sent in a header'],
    ['{', 'invalid JSON'],
  ])('refuses %s', (text, error) => {
    const got = parse(text);
    expect(!got.ok && got.error).toContain(error);
  });
});
