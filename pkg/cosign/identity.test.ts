import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from '@sigstore/core';
import { compileImagePattern } from '../imageref/index.js';
import { checkIdentity, describeIdentity, type IdentityRequirement } from './identity.js';

// Real certificates; testdata/README.md says where each comes from.
function fixture(name: string): X509Certificate {
  return X509Certificate.parse(readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8'));
}
const EMAIL = fixture('cosign-oci-attestation-leaf.pem');
const GHA_2022 = fixture('kyverno-github-actions-2022.pem');
const GHA_2023 = fixture('sigstore-js-fulcioleaf.pem');
const URI_AND_USERNAME = fixture('sigstore-js-leaf.pem');
const NO_SAN = fixture('sigstore-js-nosan.pem');
const IP = fixture('sigstore-js-nokeyusage.pem');
const ALL_SAN_TYPES = fixture('peculiar-all-san-types.pem');

const GHA_2022_SAN = 'https://github.com/JimBugwadia/demo-java-tomcat/.github/workflows/publish.yaml@refs/tags/v0.0.22';
const GHA_ISSUER = 'https://token.actions.githubusercontent.com';
const OAUTH = 'https://github.com/login/oauth';

type Requirement = Omit<IdentityRequirement, 'subject' | 'issuer' | 'extensions'> & {
  readonly subject?: string;
  readonly issuer?: string;
  readonly extensions?: Readonly<Record<string, string>>;
};

// Wildcards come in compiled, as the policy compiler hands them over.
function check(cert: X509Certificate, { subject, issuer, extensions, ...rest }: Requirement) {
  return checkIdentity(cert, {
    ...rest,
    ...(subject === undefined ? {} : { subject: compileImagePattern(subject) }),
    ...(issuer === undefined ? {} : { issuer: compileImagePattern(issuer) }),
    extensions: extensions ?? {},
  });
}

function mismatch(detail: string) {
  return { ok: false, detail };
}

describe('checkIdentity', () => {
  // Kyverno's TestCosignMatchCertificateData (pkg/image/verifiers/cpol/cosign/verifier_test.go), on its certificate.
  describe("when replaying Kyverno's own test", () => {
    const subject = 'https://github.com/JimBugwadia/demo-java-tomcat/.github/workflows/publish.yaml@refs/tags/*';
    const subjectRegExp = /https:\/\/github\.com\/JimBugwadia\/demo-java-tomcat\/.+/;
    const issuerRegExp = /https:\/\/token\.actions\..+/;
    const extensions = {
      githubWorkflowTrigger: 'push',
      githubWorkflowSha: 'c7645284fa7aebe554618eee879b4d6947f8564e',
      githubWorkflowName: 'build-sign-attest',
      githubWorkflowRepository: 'JimBugwadia/demo-java-tomcat',
    };
    const matched = { ok: true, subject: GHA_2022_SAN, issuer: GHA_ISSUER };

    it.each<[string, Requirement]>([
      ['subject, issuer and extensions', { subject, issuer: GHA_ISSUER, extensions }],
      ['issuer and extensions', { issuer: GHA_ISSUER, extensions }],
      ['subject and issuer', { subject, issuer: GHA_ISSUER }],
      ['both regular expressions', { subjectRegExp, issuerRegExp }],
      ['the issuer regular expression', { issuerRegExp }],
      ['all four', { subject, subjectRegExp, issuer: GHA_ISSUER, issuerRegExp }],
    ])('accepts %s', (_name, requirement) => {
      expect(check(GHA_2022, requirement)).toEqual(matched);
    });

    it('rejects a subject regular expression that does not match', () => {
      expect(check(GHA_2022, { subjectRegExp: /^wrong-regex$/, issuer: GHA_ISSUER, issuerRegExp })).toEqual(
        mismatch(`subject mismatch: expected ^wrong-regex$, received ${GHA_2022_SAN}`),
      );
    });

    it('rejects an issuer regular expression that does not match', () => {
      expect(check(GHA_2022, { issuerRegExp: /^wrong-regex$/ })).toEqual(
        mismatch(`issuer mismatch: expected ^wrong-regex$, received ${GHA_ISSUER}`),
      );
    });

    it('rejects a wrong subject before looking at the extensions', () => {
      expect(check(GHA_2022, { subject: 'wrong-subject', issuer: GHA_ISSUER, extensions })).toEqual(
        mismatch(`subject mismatch: expected wrong-subject, received ${GHA_2022_SAN}`),
      );
    });

    it('rejects a wrong extension value', () => {
      expect(
        check(GHA_2022, { subject, issuer: GHA_ISSUER, extensions: { ...extensions, githubWorkflowTrigger: 'pull' } }),
      ).toEqual(mismatch('extension mismatch: expected pull for key githubWorkflowTrigger, received push'));
    });
  });

  describe('when the subject is exact', () => {
    it('accepts the email SAN and reports the identity', () => {
      expect(check(EMAIL, { subject: 'cody@soyland.com', issuer: OAUTH })).toEqual({
        ok: true,
        subject: 'cody@soyland.com',
        issuer: OAUTH,
      });
    });

    it('rejects another email, naming what the certificate holds', () => {
      expect(check(EMAIL, { subject: 'alice@soyland.com' })).toEqual(
        mismatch('subject mismatch: expected alice@soyland.com, received cody@soyland.com'),
      );
    });

    it('is case-sensitive', () => {
      expect(check(EMAIL, { subject: 'Cody@soyland.com' }).ok).toBe(false);
    });
  });

  describe('when the subject is a wildcard', () => {
    it.each(['*@soyland.com', '?ody@soyland.com', 'cody@*', '*'])('accepts %s', (subject) => {
      expect(check(EMAIL, { subject }).ok).toBe(true);
    });

    it('matches the whole SAN, not a part of it', () => {
      expect(check(EMAIL, { subject: '*@soyland' })).toEqual(
        mismatch('subject mismatch: expected *@soyland, received cody@soyland.com'),
      );
    });

    it('lets * span slashes in a workflow URI', () => {
      expect(check(GHA_2022, { subject: 'https://github.com/JimBugwadia/*' }).ok).toBe(true);
    });
  });

  describe('when subjectRegExp is given', () => {
    it('matches anywhere in the SAN, as Go’s MatchString does', () => {
      expect(check(EMAIL, { subjectRegExp: /soyland/ }).ok).toBe(true);
    });

    it('honours anchors written in the pattern', () => {
      expect(check(EMAIL, { subjectRegExp: /^soyland/ })).toEqual(
        mismatch('subject mismatch: expected ^soyland, received cody@soyland.com'),
      );
    });

    it('quotes the pattern with its slashes as written', () => {
      expect(check(GHA_2022, { subjectRegExp: new RegExp('^https://github\\.com/other/') })).toEqual(
        mismatch(`subject mismatch: expected ^https://github\\.com/other/, received ${GHA_2022_SAN}`),
      );
    });

    it('is not confused by a global flag between calls', () => {
      const subjectRegExp = /soyland/g;
      expect([check(EMAIL, { subjectRegExp }).ok, check(EMAIL, { subjectRegExp }).ok]).toEqual([true, true]);
    });
  });

  describe('when subject and subjectRegExp are both given', () => {
    it('accepts when only the wildcard matches', () => {
      expect(check(EMAIL, { subject: 'cody@*', subjectRegExp: /^nobody$/ }).ok).toBe(true);
    });

    it('accepts when only the regular expression matches', () => {
      expect(check(EMAIL, { subject: 'nobody', subjectRegExp: /cody/ }).ok).toBe(true);
    });

    it('quotes the wildcard when neither matches', () => {
      expect(check(EMAIL, { subject: 'nobody', subjectRegExp: /^nobody$/ })).toEqual(
        mismatch('subject mismatch: expected nobody, received cody@soyland.com'),
      );
    });
  });

  describe('when the issuer is required', () => {
    it.each<[string, Requirement]>([
      ['an exact issuer', { issuer: OAUTH }],
      ['a wildcard issuer', { issuer: 'https://github.com/*' }],
      ['an unanchored regular expression', { issuerRegExp: /github\.com\/login/ }],
      ['a wildcard and a regular expression together', { issuer: 'https://*', issuerRegExp: /oauth$/ }],
    ])('accepts %s', (_name, requirement) => {
      expect(check(EMAIL, requirement).ok).toBe(true);
    });

    it('rejects another issuer', () => {
      expect(check(EMAIL, { subject: 'cody@soyland.com', issuer: GHA_ISSUER })).toEqual(
        mismatch(`issuer mismatch: expected ${GHA_ISSUER}, received ${OAUTH}`),
      );
    });

    it('requires the regular expression as well as the wildcard', () => {
      expect(check(EMAIL, { issuer: OAUTH, issuerRegExp: /token\.actions/ })).toEqual(
        mismatch(`issuer mismatch: expected token\\.actions, received ${OAUTH}`),
      );
    });

    it('checks the subject first', () => {
      expect(check(EMAIL, { subject: 'nobody', issuer: GHA_ISSUER }).ok).toBe(false);
      expect(check(EMAIL, { subject: 'nobody', issuer: GHA_ISSUER })).toEqual(
        mismatch('subject mismatch: expected nobody, received cody@soyland.com'),
      );
    });
  });

  describe('when the certificate has only the deprecated issuer extension', () => {
    it('reads the issuer from it', () => {
      expect(check(GHA_2022, { issuer: GHA_ISSUER }).ok).toBe(true);
    });
  });

  describe('when the certificate has both issuer extensions', () => {
    it('reads the same issuer', () => {
      expect(check(GHA_2023, { issuer: GHA_ISSUER }).ok).toBe(true);
    });
  });

  describe('when the certificate has no issuer extension', () => {
    it('rejects a required issuer, having received nothing', () => {
      expect(check(URI_AND_USERNAME, { issuer: OAUTH })).toEqual(
        mismatch(`issuer mismatch: expected ${OAUTH}, received `),
      );
    });

    it('rejects a required issuer regular expression', () => {
      expect(check(URI_AND_USERNAME, { issuerRegExp: /./ }).ok).toBe(false);
    });

    it('accepts "*", which matches the empty issuer as in Kyverno', () => {
      expect(check(URI_AND_USERNAME, { issuer: '*' })).toEqual({
        ok: true,
        subject: 'http://foobar.dev, FOO',
        issuer: '',
      });
    });
  });

  describe('when additionalExtensions are given', () => {
    it('accepts every GitHub workflow extension by name', () => {
      const extensions = {
        githubWorkflowTrigger: 'workflow_dispatch',
        githubWorkflowSha: 'b8adf0e2ea663818674b0b542364638d016256d9',
        githubWorkflowName: 'publish-with-provenance',
        githubWorkflowRepository: 'npm/provenance-tests',
        githubWorkflowRef: 'refs/heads/main',
        oidcIssuer: GHA_ISSUER,
      };
      expect(check(GHA_2023, { extensions }).ok).toBe(true);
    });

    it('accepts extensions by OID', () => {
      const extensions = {
        '1.3.6.1.4.1.57264.1.1': GHA_ISSUER,
        '1.3.6.1.4.1.57264.1.5': 'npm/provenance-tests',
        '1.3.6.1.4.1.57264.1.6': 'refs/heads/main',
      };
      expect(check(GHA_2023, { extensions }).ok).toBe(true);
    });

    it('matches values as wildcards', () => {
      expect(
        check(GHA_2023, { extensions: { githubWorkflowRef: 'refs/heads/*', githubWorkflowRepository: 'npm/*' } }).ok,
      ).toBe(true);
    });

    it('names the key as the policy wrote it', () => {
      expect(check(GHA_2022, { extensions: { '1.3.6.1.4.1.57264.1.6': 'refs/heads/main' } })).toEqual(
        mismatch(
          'extension mismatch: expected refs/heads/main for key 1.3.6.1.4.1.57264.1.6, received refs/tags/v0.0.22',
        ),
      );
    });

    it('reports the first failing key in the policy’s order', () => {
      const extensions = { githubWorkflowName: 'other', githubWorkflowTrigger: 'pull' };
      expect(check(GHA_2022, { extensions })).toEqual(
        mismatch('extension mismatch: expected other for key githubWorkflowName, received build-sign-attest'),
      );
    });

    it('receives nothing for an extension the certificate lacks', () => {
      expect(check(EMAIL, { extensions: { githubWorkflowTrigger: 'push' } })).toEqual(
        mismatch('extension mismatch: expected push for key githubWorkflowTrigger, received '),
      );
    });

    it('reads the oidcIssuer key as the issuer', () => {
      expect(check(EMAIL, { extensions: { oidcIssuer: 'https://accounts.google.com' } })).toEqual(
        mismatch(`extension mismatch: expected https://accounts.google.com for key oidcIssuer, received ${OAUTH}`),
      );
    });

    it.each(['issuer', '1.3.6.1.4.1.57264.1.8', '1.3.6.1.4.1.57264.1.9', 'sourceRepositoryURI', 'toString', ''])(
      'rejects the unsupported key %j',
      (key) => {
        expect(check(GHA_2023, { extensions: { [key]: '*' } })).toEqual(
          mismatch(`invalid certificate extension ${key}`),
        );
      },
    );

    it('checks the issuer before the extensions', () => {
      expect(check(EMAIL, { issuer: GHA_ISSUER, extensions: { unknown: 'x' } })).toEqual(
        mismatch(`issuer mismatch: expected ${GHA_ISSUER}, received ${OAUTH}`),
      );
    });
  });

  describe('when the certificate has other kinds of SAN', () => {
    it('matches Fulcio’s username otherName', () => {
      expect(check(URI_AND_USERNAME, { subject: 'FOO' })).toEqual({
        ok: true,
        subject: 'http://foobar.dev, FOO',
        issuer: '',
      });
    });

    it('matches an IP address', () => {
      expect(check(IP, { subject: '192.168.1.*' }).ok).toBe(true);
    });

    it('lists them in cosign’s order, with IP addresses as Go prints them', () => {
      expect(check(ALL_SAN_TYPES, { subject: 'nothing' })).toEqual(
        mismatch(
          'subject mismatch: expected nothing, received ' +
            'example.com, a@example.com, 2001:db8::1:0:0:1, 10.0.0.1, 1:0:2::3:0:4, https://example.com/x',
        ),
      );
    });

    it.each(['example.com', 'a@example.com', '2001:db8::1:0:0:1', '10.0.0.1', 'https://example.com/x'])(
      'matches %s',
      (subject) => {
        expect(check(ALL_SAN_TYPES, { subject }).ok).toBe(true);
      },
    );
  });

  describe('when the certificate has no SAN', () => {
    it('fails a subject requirement closed, where Kyverno would skip it', () => {
      expect(check(NO_SAN, { subject: '*' })).toEqual(mismatch('subject mismatch: expected *, received '));
    });

    it('fails a subject regular expression closed', () => {
      expect(check(NO_SAN, { subjectRegExp: /.*/ })).toEqual(mismatch('subject mismatch: expected .*, received '));
    });

    it('still satisfies an issuer requirement', () => {
      expect(check(NO_SAN, { issuer: 'FOO' })).toEqual({ ok: true, subject: '', issuer: 'FOO' });
    });
  });

  describe('when nothing is required', () => {
    it('accepts and reports the identity', () => {
      expect(check(GHA_2022, {})).toEqual({ ok: true, subject: GHA_2022_SAN, issuer: GHA_ISSUER });
    });
  });
});

describe('describeIdentity', () => {
  it.each([
    [EMAIL, 'cody@soyland.com', OAUTH],
    [
      GHA_2023,
      'https://github.com/npm/provenance-tests/.github/workflows/publish-with-provenance.yml@refs/heads/main',
      GHA_ISSUER,
    ],
    [URI_AND_USERNAME, 'http://foobar.dev, FOO', ''],
    [NO_SAN, '', 'FOO'],
  ])('describes %#', (cert, subject, issuer) => {
    expect(describeIdentity(cert)).toEqual({ subject, issuer });
  });
});
