// One streamed request, timed the way `vllm bench serve` times it: TTFT at the first chunk carrying content,
// one inter-token latency per later content chunk, E2E latency at the end of the stream; token counts from the
// final `usage` chunk when the server sends one (stream_options.include_usage), otherwise left for re-tokenizing.
import { SseDecoder } from './sse.js';
import { endpointPath, headers, type Target } from './target.js';

/**
 * What each request asks the sampler for, as `vllm bench serve --temperature/--top-p/--top-k/--min-p`: greedy
 * (temperature 0) by default; the filters are sent only when set.
 */
export interface SamplingSpec {
  readonly temperature: number;
  readonly topP: number | null;
  readonly topK: number | null;
  readonly minP: number | null;
}

export const GREEDY_SAMPLING: SamplingSpec = { temperature: 0, topP: null, topK: null, minP: null };

export interface RequestSpec {
  readonly prompt: string;
  readonly maxTokens: number;
  /** vLLM's `ignore_eos`: generate exactly maxTokens. Sent only when true. */
  readonly ignoreEos: boolean;
  /** Ask for `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  /** Absent: greedy. */
  readonly sampling?: SamplingSpec;
}

export interface StreamOutcome {
  readonly success: boolean;
  /** The deadline (or caller) aborted the request: neither completed nor failed. */
  readonly cancelled: boolean;
  readonly error: string;
  /** performance.now() when the request was sent. */
  readonly sentAtMs: number;
  readonly ttftMs: number;
  readonly itlMs: readonly number[];
  readonly latencyMs: number;
  readonly generatedText: string;
  readonly contentChunks: number;
  /** From the usage chunk; null when the server sent none. */
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number } | null;
}

export function requestBody(target: Target, spec: RequestSpec): Record<string, unknown> {
  const sampling = spec.sampling ?? GREEDY_SAMPLING;
  const common = {
    model: target.model,
    temperature: sampling.temperature,
    ...(sampling.topP !== null ? { top_p: sampling.topP } : {}),
    ...(sampling.topK !== null ? { top_k: sampling.topK } : {}),
    ...(sampling.minP !== null ? { min_p: sampling.minP } : {}),
    stream: true,
    ...(spec.includeUsage ? { stream_options: { include_usage: true } } : {}),
    ...(spec.ignoreEos ? { ignore_eos: true } : {}),
  };
  return target.endpoint === 'chat'
    ? { ...common, messages: [{ role: 'user', content: spec.prompt }], max_completion_tokens: spec.maxTokens }
    : { ...common, prompt: spec.prompt, max_tokens: spec.maxTokens };
}

interface StreamChunk {
  choices?: { text?: string | null; delta?: { content?: string | null; reasoning_content?: string | null } }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

/** The content a chunk carries (completion text, chat content or reasoning), '' when none. */
export function chunkContent(chunk: StreamChunk): string {
  const choice = chunk.choices?.[0];
  if (choice === undefined) return '';
  return (choice.text ?? '') + (choice.delta?.content ?? '') + (choice.delta?.reasoning_content ?? '');
}

export async function streamRequest(target: Target, spec: RequestSpec, signal?: AbortSignal): Promise<StreamOutcome> {
  const sentAtMs = performance.now();
  let ttftMs = 0;
  let lastMs = 0;
  let firstSeen = false;
  const itlMs: number[] = [];
  let generatedText = '';
  let contentChunks = 0;
  let usage: StreamOutcome['usage'] = null;
  const finish = (success: boolean, error: string, cancelled = false): StreamOutcome => ({
    success,
    cancelled,
    error,
    sentAtMs,
    ttftMs,
    itlMs,
    latencyMs: performance.now() - sentAtMs,
    generatedText,
    contentChunks,
    usage,
  });

  try {
    const res = await fetch(`${target.baseUrl}${endpointPath(target.endpoint)}`, {
      method: 'POST',
      headers: headers(target),
      body: JSON.stringify(requestBody(target, spec)),
      ...(signal === undefined ? {} : { signal }),
    });
    if (!res.ok || res.body === null) {
      const text = (await res.text()).slice(0, 500);
      return finish(false, `HTTP ${res.status}: ${errorMessage(text)}`);
    }
    const decoder = new SseDecoder();
    const onEvent = (data: string): string | null => {
      if (data === '[DONE]') return null;
      const chunk = JSON.parse(data) as StreamChunk;
      if (chunk.error !== undefined)
        return typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'error event');
      const content = chunkContent(chunk);
      if (content !== '') {
        const now = performance.now();
        if (!firstSeen) {
          firstSeen = true;
          ttftMs = now - sentAtMs;
        } else {
          itlMs.push(now - lastMs);
        }
        lastMs = now;
        generatedText += content;
        contentChunks++;
      }
      if (chunk.usage) {
        usage = { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 };
      }
      return null;
    };
    for await (const bytes of res.body) {
      for (const data of decoder.push(bytes)) {
        const error = onEvent(data);
        if (error !== null) return finish(false, error);
      }
    }
    for (const data of decoder.end()) {
      const error = onEvent(data);
      if (error !== null) return finish(false, error);
    }
  } catch (err) {
    if (signal?.aborted === true) return finish(false, 'cancelled at the deadline', true);
    return finish(false, describe(err));
  }
  return firstSeen ? finish(true, '') : finish(false, 'Never received a valid chunk to calculate TTFT.');
}

function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    if (typeof parsed.error === 'string') return parsed.error;
    return parsed.error?.message ?? parsed.message ?? body;
  } catch {
    return body;
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code !== undefined ? `${e.message} (${e.cause.code})` : (e.message ?? String(err));
}
