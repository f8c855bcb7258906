// A small byte-level BPE trainer (GPT-2 style) for synthetic tokenizers. Deterministic: ties between equally
// frequent pairs break on the pair's text, and the filler merges follow a fixed order.

/** GPT-2's byte → printable character map, as used by HF's ByteLevel pre-tokenizer and decoder. */
export function byteLevelAlphabet(): string[] {
  const alphabet: string[] = new Array<string>(256);
  let nextUnprintable = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    alphabet[byte] = String.fromCharCode(printable ? byte : nextUnprintable++);
  }
  return alphabet;
}

// HF ByteLevel's `use_regex: true` split (the GPT-2 pattern).
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Splits `text` as the ByteLevel pre-tokenizer does and maps each piece to byte-level symbols. */
export function byteLevelWords(text: string, alphabet: readonly string[]): string[][] {
  const encoder = new TextEncoder();
  const words: string[][] = [];
  for (const match of text.matchAll(GPT2_SPLIT)) {
    words.push(Array.from(encoder.encode(match[0]), (byte) => alphabet[byte] ?? ''));
  }
  return words;
}

export interface BpeTrainingResult {
  /** Merges in rank order, each a pair of existing tokens. */
  merges: [string, string][];
  /** Tokens created by the merges, in id order (a merge whose result already exists adds no token). */
  newTokens: string[];
}

/**
 * Learns merges on `corpus` until `targetNewTokens` tokens exist beyond the 256 byte symbols. When the corpus has
 * no pair left (every word is one token), filler merges join existing word pieces: a word start (optionally
 * space-prefixed letters) with a continuation (bare lowercase letters), taken in order of the pieces' ids, so
 * the vocabulary always fills up and stays plausible.
 */
export function trainByteLevelBpe(
  corpus: string,
  targetNewTokens: number,
  alphabet: readonly string[],
): BpeTrainingResult {
  const known = new Set<string>(alphabet);
  const result: BpeTrainingResult = { merges: [], newTokens: [] };
  const accept = (left: string, right: string): void => {
    result.merges.push([left, right]);
    const token = left + right;
    if (!known.has(token)) {
      known.add(token);
      result.newTokens.push(token);
    }
  };

  const wordCounts = new Map<string, { symbols: string[]; count: number }>();
  for (const symbols of byteLevelWords(corpus, alphabet)) {
    const key = symbols.join('');
    const entry = wordCounts.get(key);
    if (entry === undefined) wordCounts.set(key, { symbols, count: 1 });
    else entry.count++;
  }
  const words = [...wordCounts.values()];

  while (result.newTokens.length < targetNewTokens) {
    const best = mostFrequentPair(words);
    if (best === null) break;
    accept(best[0], best[1]);
    for (const word of words) word.symbols = applyMerge(word.symbols, best[0], best[1]);
  }

  fillWithWordPieceMerges(known, result, targetNewTokens, accept);
  return result;
}

function mostFrequentPair(words: readonly { symbols: string[]; count: number }[]): [string, string] | null {
  // Keyed by "left right": byte-level symbols never contain a space, so the key is unambiguous.
  const counts = new Map<string, number>();
  for (const { symbols, count } of words) {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = `${symbols[i]} ${symbols[i + 1]}`;
      counts.set(key, (counts.get(key) ?? 0) + count);
    }
  }
  let bestKey: string | null = null;
  let bestCount = 0;
  for (const [key, count] of counts) {
    if (count > bestCount || (count === bestCount && bestKey !== null && key < bestKey)) {
      bestKey = key;
      bestCount = count;
    }
  }
  if (bestKey === null) return null;
  const space = bestKey.indexOf(' ');
  return [bestKey.slice(0, space), bestKey.slice(space + 1)];
}

function applyMerge(symbols: string[], left: string, right: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right);
      i++;
    } else {
      out.push(symbols[i] ?? '');
    }
  }
  return out;
}

const WORD_START = /^Ġ?[a-z]+$/;
const WORD_CONTINUATION = /^[a-z]+$/;

/**
 * Adds merges (start, continuation) in anti-diagonal order over snapshots of the eligible pieces (learned pieces
 * first, then single letters). Each pass over a snapshot creates at least one token — the longest start joined to
 * any continuation is new — so this always terminates.
 */
function fillWithWordPieceMerges(
  known: ReadonlySet<string>,
  result: BpeTrainingResult,
  targetNewTokens: number,
  accept: (left: string, right: string) => void,
): void {
  const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(0x61 + i));
  while (result.newTokens.length < targetNewTokens) {
    const pieces = [...result.newTokens, ...letters];
    const starts = pieces.filter((piece) => WORD_START.test(piece));
    const continuations = pieces.filter((piece) => WORD_CONTINUATION.test(piece));
    const diagonals = starts.length + continuations.length - 1;
    for (let d = 0; d < diagonals && result.newTokens.length < targetNewTokens; d++) {
      for (let j = Math.max(0, d - starts.length + 1); j <= Math.min(d, continuations.length - 1); j++) {
        const start = starts[d - j] ?? '';
        const continuation = continuations[j] ?? '';
        if (known.has(start + continuation)) continue;
        accept(start, continuation);
        if (result.newTokens.length >= targetNewTokens) break;
      }
    }
  }
}
