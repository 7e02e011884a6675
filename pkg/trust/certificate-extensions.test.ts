import { checkExtensionKeys, toExtensionOid } from './certificate-extensions.js';

describe('toExtensionOid', () => {
  it.each([
    ['oidcIssuer', '1.3.6.1.4.1.57264.1.1'],
    ['githubWorkflowTrigger', '1.3.6.1.4.1.57264.1.2'],
    ['githubWorkflowSha', '1.3.6.1.4.1.57264.1.3'],
    ['githubWorkflowName', '1.3.6.1.4.1.57264.1.4'],
    ['githubWorkflowRepository', '1.3.6.1.4.1.57264.1.5'],
    ['githubWorkflowRef', '1.3.6.1.4.1.57264.1.6'],
    ['1.3.6.1.4.1.57264.1.1', '1.3.6.1.4.1.57264.1.1'],
    ['1.3.6.1.4.1.57264.1.6', '1.3.6.1.4.1.57264.1.6'],
  ])('maps %s to %s', (key, oid) => {
    expect(toExtensionOid(key)).toBe(oid);
  });

  it.each(['issuer', 'GithubWorkflowRef', '1.3.6.1.4.1.57264.1.7', '1.3.6.1.4.1.57264.1.8', 'constructor', ''])(
    'knows no %j',
    (key) => {
      expect(toExtensionOid(key)).toBeUndefined();
    },
  );
});

describe('checkExtensionKeys', () => {
  it('accepts names and OIDs', () => {
    expect(checkExtensionKeys({ githubWorkflowRef: 'x', '1.3.6.1.4.1.57264.1.5': 'y' })).toBeUndefined();
  });

  it('names the first unknown key with Kyverno’s message', () => {
    expect(checkExtensionKeys({ githubWorkflowRef: 'x', issuer: 'y', other: 'z' })).toBe(
      'invalid certificate extension issuer',
    );
  });
});
