import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopback, normalizeBaseUrl } from './target.js';

describe('target', () => {
  it('normalizes base URLs given with or without /v1', () => {
    assert.equal(normalizeBaseUrl('http://127.0.0.1:8000'), 'http://127.0.0.1:8000');
    assert.equal(normalizeBaseUrl('http://127.0.0.1:8000/v1/'), 'http://127.0.0.1:8000');
    assert.equal(normalizeBaseUrl('http://localhost:8000/api/v1'), 'http://localhost:8000/api');
    assert.throws(() => normalizeBaseUrl('127.0.0.1:8000'), /http|URL/);
    assert.throws(() => normalizeBaseUrl('ftp://127.0.0.1'), /http/);
  });

  it('accepts only loopback hosts as loopback', () => {
    for (const u of [
      'http://127.0.0.1:1',
      'http://127.1.2.3',
      'http://localhost:8000',
      'http://[::1]:8000',
      'http://[::ffff:127.0.0.1]:80',
    ])
      assert.equal(isLoopback(u), true, u);
    for (const u of [
      'http://10.0.0.1',
      'http://example.com',
      'http://0.0.0.0:8000',
      'http://[::ffff:10.0.0.1]',
      'http://127.0.0.1.example.com',
    ])
      assert.equal(isLoopback(u), false, u);
  });
});
