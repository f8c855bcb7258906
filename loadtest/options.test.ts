import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConcurrencyList, parseGoodput, parsePercentiles, parseRequestRate } from './options.js';

describe('option parsing', () => {
  it('concurrency lists', () => {
    assert.deepEqual(parseConcurrencyList('1,4, 16'), [1, 4, 16]);
    assert.deepEqual(parseConcurrencyList('inf'), [Infinity]);
    assert.throws(() => parseConcurrencyList('0'), /--concurrency/);
    assert.throws(() => parseConcurrencyList('2.5'), /--concurrency/);
    assert.throws(() => parseConcurrencyList(','), /--concurrency/);
  });

  it('request rates', () => {
    assert.equal(parseRequestRate('inf'), Infinity);
    assert.equal(parseRequestRate('2.5'), 2.5);
    assert.throws(() => parseRequestRate('0'), /--request-rate/);
    assert.throws(() => parseRequestRate('fast'), /--request-rate/);
  });

  it("goodput SLOs in vLLM's KEY:MS form", () => {
    assert.deepEqual(parseGoodput('ttft:500,tpot:50'), { ttftMs: 500, tpotMs: 50 });
    assert.deepEqual(parseGoodput('e2el:2000 ttft:1'), { e2elMs: 2000, ttftMs: 1 });
    assert.throws(() => parseGoodput('itl:5'), /--goodput/);
    assert.throws(() => parseGoodput('ttft:'), /--goodput/);
    assert.throws(() => parseGoodput('ttft:-1'), /--goodput/);
  });

  it('percentiles', () => {
    assert.deepEqual(parsePercentiles('90,99,99.9'), [90, 99, 99.9]);
    assert.throws(() => parsePercentiles('101'), /--percentiles/);
  });
});
