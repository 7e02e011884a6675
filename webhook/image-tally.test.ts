import { ImageTally } from './image-tally.js';

describe('ImageTally', () => {
  it('gives one entry per image, in the order first counted, with each rule outcome counted', () => {
    const tally = new ImageTally();
    tally.count('ghcr.io/a:v1', 'pass', true);
    tally.count('ghcr.io/b:v1', 'skip', false);
    tally.count('ghcr.io/a:v1', 'pass', false);
    expect(tally.summaries()).toEqual([
      { image: 'ghcr.io/a:v1', pass: 2, skip: 0, fail: 0, cached: 1 },
      { image: 'ghcr.io/b:v1', pass: 0, skip: 1, fail: 0, cached: 0 },
    ]);
  });

  it('names the policy and rule of each failure once, however many times it is counted', () => {
    const tally = new ImageTally();
    const failure = { policy: 'check-image', rule: 'verify', reason: 'NoSignature' };
    tally.count('ghcr.io/a:v1', 'fail', false, failure);
    tally.count('ghcr.io/a:v1', 'fail', false, failure);
    tally.count('ghcr.io/a:v1', 'fail', false, { ...failure, rule: 'other', reason: 'InvalidSignature' });
    expect(tally.summaries()).toEqual([
      {
        image: 'ghcr.io/a:v1',
        pass: 0,
        skip: 0,
        fail: 3,
        cached: 0,
        reasons: ['check-image/verify: NoSignature', 'check-image/other: InvalidSignature'],
      },
    ]);
  });
});
