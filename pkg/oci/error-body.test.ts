import { parseRegistryErrorBody, registryError } from './error-body.js';

const parse = (text: string) => parseRegistryErrorBody(Buffer.from(text));

describe('parseRegistryErrorBody', () => {
  it('reads the first error’s code and message', () => {
    expect(parse('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}')).toEqual({
      code: 'MANIFEST_UNKNOWN',
      message: 'manifest unknown',
    });
  });

  it.each(['null', '[]', '{"errors":null}', '{"errors":[null]}', '{"errors":[5]}', '{"errors":{}}', 'not json', ''])(
    'reads nothing from %j',
    (text) => {
      expect(parse(text)).toEqual({});
    },
  );

  it('makes the message safe to quote', () => {
    const got = parse(JSON.stringify({ errors: [{ code: 'DENIED', message: `a\u001b[2J\u202e${'b'.repeat(1000)}` }] }));
    expect(got.message).toMatch(/^a \[2J b+…$/);
    expect(got.message!.length).toBeLessThanOrEqual(201);
  });
});

describe('registryError', () => {
  it('maps the code and keeps the status', () => {
    const e = registryError(404, Buffer.from('{"errors":[{"code":"NAME_UNKNOWN","message":"no such repo"}]}'), {
      registry: 'r.example',
      repository: 'a',
    });
    expect(e.toFailure()).toEqual({
      code: 'NAME_UNKNOWN',
      message: 'NAME_UNKNOWN: r.example/a: no such repo (HTTP 404)',
      registry: 'r.example',
      repository: 'a',
      status: 404,
    });
  });
});
