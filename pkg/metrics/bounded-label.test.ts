import { BoundedLabel, OTHER } from './bounded-label.js';

describe('BoundedLabel', () => {
  it('keeps the first values as they are, and folds every later one into "other"', () => {
    const label = new BoundedLabel({ max: 2, maxLength: 50 });
    expect(label.of('ghcr.io')).toBe('ghcr.io');
    expect(label.of('quay.io')).toBe('quay.io');
    expect(label.of('evil-1.example')).toBe(OTHER);
    expect(label.of('evil-2.example')).toBe(OTHER);
  });

  it('keeps a value seen before the bound was reached', () => {
    const label = new BoundedLabel({ max: 1, maxLength: 50 });
    label.of('ghcr.io');
    label.of('quay.io');
    expect(label.of('ghcr.io')).toBe('ghcr.io');
  });

  it('folds a value too long to be a name, without using up room', () => {
    const label = new BoundedLabel({ max: 1, maxLength: 10 });
    expect(label.of('x'.repeat(11))).toBe(OTHER);
    expect(label.of('ghcr.io')).toBe('ghcr.io');
  });
});
