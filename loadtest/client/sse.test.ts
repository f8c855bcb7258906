import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseDecoder } from './sse.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('SseDecoder', () => {
  it('returns the data of each complete event, several per chunk', () => {
    const d = new SseDecoder();
    assert.deepEqual(d.push(bytes('data: {"a":1}\n\ndata: [DONE]\n\n')), ['{"a":1}', '[DONE]']);
  });

  it('joins events split across chunks, even inside a multi-byte character or a CRLF', () => {
    const d = new SseDecoder();
    const all = bytes('data: "é"\r\n\r\ndata: 2\n\n');
    const out: string[] = [];
    for (let i = 0; i < all.length; i++) out.push(...d.push(all.subarray(i, i + 1)));
    assert.deepEqual(out, ['"é"', '2']);
  });

  it('skips comments and other fields, joins multi-line data, flushes at the end', () => {
    const d = new SseDecoder();
    assert.deepEqual(d.push(bytes(': ping\n\nevent: x\ndata: a\ndata:b\n\ndata: tail')), ['a\nb']);
    assert.deepEqual(d.end(), ['tail']);
  });
});
