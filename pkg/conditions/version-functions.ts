// Kyverno's semver_compare(version, range): whether a semantic version is in a blang/semver range such as
// ">=1.0.0 <2.0.0 || 3.x". As in Kyverno, a version that does not parse counts as 0.0.0; a range that does not
// parse is an error.
import { functionError, STRING, type FunctionDefinition } from './function-definition.js';
import { parseSemver, parseSemverRange, semverInRange } from './semver.js';

const ZERO = { major: 0n, minor: 0n, patch: 0n, pre: [] } as const;

export const VERSION_FUNCTIONS: readonly FunctionDefinition[] = [
  {
    name: 'semver_compare',
    signature: [STRING, STRING],
    run: ([version, range], run) => {
      run.budget.charge(1 + (version as string).length + (range as string).length);
      const parsedRange = parseSemverRange(range as string);
      if (typeof parsedRange === 'string') throw functionError('semver_compare', parsedRange);
      return semverInRange(parseSemver(version as string) ?? ZERO, parsedRange);
    },
  },
];
