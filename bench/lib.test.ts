import { describe, expect, it } from 'vitest';
import { meets, percentile, ratio } from './lib.js';

describe('bench figures', () => {
  it('compares ratio targets against the baseline', () => {
    const f = { name: 'x', value: 3, unit: 'ms', baseline: { name: 'b', value: 2 }, target: '<= 2x' };
    expect(ratio(f)).toBe(1.5);
    expect(meets(f)).toBe(true);
    expect(meets({ ...f, value: 5 })).toBe(false);
  });
  it('compares absolute targets against the value', () => {
    expect(meets({ name: 'x', value: 40, unit: 'us', target: '< 50 us' })).toBe(true);
    expect(meets({ name: 'x', value: 60, unit: 'us', target: '< 50 us' })).toBe(false);
  });
  it('takes nearest-rank percentiles', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(s, 50)).toBe(50);
    expect(percentile(s, 99)).toBe(99);
  });
});
