// The distance behind "did you mean": edits counted as kubectl's suggestions count them, swaps included.
import { describe, expect, it } from 'vitest';
import { editDistance, nearestName } from './field-hints.ts';

describe('editDistance and nearestName', () => {
  it('counts inserts, deletes, substitutions and swapped neighbours, ignoring case', () => {
    expect(editDistance('weight', 'weight')).toBe(0);
    expect(editDistance('weigth', 'weight')).toBe(1);
    expect(editDistance('wieght', 'weight')).toBe(1);
    expect(editDistance('weigh', 'weight')).toBe(1);
    expect(editDistance('Weight', 'weight')).toBe(0);
    expect(editDistance('wgt', 'weight')).toBe(3);
    expect(editDistance('timeout', 'retries')).toBe(3);
  });

  it('suggests within two edits, one for short names, and nothing when no name is close', () => {
    expect(nearestName('weigth', ['destination', 'weight'])).toBe('weight');
    expect(nearestName('hots', ['hosts', 'gateways'])).toBe('hosts');
    expect(nearestName('tsl', ['tcp', 'http'])).toBeUndefined();
    expect(nearestName('colour', ['hosts', 'gateways', 'http'])).toBeUndefined();
  });
});
