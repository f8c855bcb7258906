// From a validated API request to EngineRequests: sampling options and one EngineRequest per choice (seeded
// seed + i, so n choices differ yet replay exactly). The prompt and context checks are engine/prompt-checks.ts'.
import { InvalidRequest } from '../engine/errors.js';
import { checkTokenId, checkTokenIds } from '../engine/prompt-checks.js';
import type { EngineRequest, SamplingOptions } from '../engine/types.js';
import type { GrammarSpec } from '../grammar/spec.js';
import { DEFAULT_SAMPLING } from '../engine/types.js';
import type { SamplingFields } from './schemas/common.js';
import { NotFound } from './errors.js';

/** The per-request settings every choice of every prompt shares. */
export interface ChoiceSettings {
  readonly sampling: SamplingOptions;
  readonly stop: readonly string[];
  readonly ignoreEos: boolean;
  /** stop_token_ids (EOS is added by the engine unless ignoreEos). */
  readonly stopTokenIds: readonly number[];
  /** min_tokens: no stop token or stop string before this many tokens (0 = off). */
  readonly minTokens: number;
  /** include_stop_str_in_output */
  readonly includeStopStrInOutput: boolean;
  /** allowed_token_ids; null = every id. */
  readonly allowedTokenIds: readonly number[] | null;
  readonly logprobs: number | null;
  readonly promptLogprobs: number | null;
  /** Every choice is held to this grammar (each with its own matcher); absent/null = free text. */
  readonly grammar?: GrammarSpec | null;
  /** Absent = the engine's default (true). */
  readonly skipSpecialTokens?: boolean;
}

/** 404 unless `model` is absent or names the served model. */
export function checkModel(model: string | null | undefined, servedModelName: string): void {
  if (model === null || model === undefined || model === servedModelName) return;
  throw new NotFound(`The model \`${model}\` does not exist.`, 'model', 'model_not_found');
}

/**
 * The token ids a request may name, one number for every field (prompt ids, logit_bias keys, /detokenize): the
 * ids both the model has rows for (config vocab_size) and the tokenizer knows. A checkpoint's vocab_size is often
 * padded past the tokenizer (DeepSeek-V3: 129,280 rows, 128,815 tokens); the padding rows have no text, so a
 * prompt naming one could never be echoed or detokenized.
 */
export function requestVocabSize(configVocabSize: number, tokenizerVocabSize: number): number {
  return Math.min(configVocabSize, tokenizerVocabSize);
}

export function samplingOptions(req: SamplingFields, vocabSize: number): SamplingOptions {
  let logitBias: Map<number, number> | null = null;
  if (req.logit_bias) {
    logitBias = new Map();
    for (const [key, bias] of Object.entries(req.logit_bias)) {
      const id = Number(key);
      checkTokenId(id, vocabSize, 'logit_bias');
      logitBias.set(id, bias);
    }
  }
  return {
    temperature: req.temperature ?? DEFAULT_SAMPLING.temperature,
    topP: req.top_p ?? DEFAULT_SAMPLING.topP,
    topK: Math.max(0, req.top_k ?? DEFAULT_SAMPLING.topK),
    minP: req.min_p ?? DEFAULT_SAMPLING.minP,
    presencePenalty: req.presence_penalty ?? DEFAULT_SAMPLING.presencePenalty,
    frequencyPenalty: req.frequency_penalty ?? DEFAULT_SAMPLING.frequencyPenalty,
    repetitionPenalty: req.repetition_penalty ?? DEFAULT_SAMPLING.repetitionPenalty,
    logitBias,
    seed: req.seed ?? null,
  };
}

/**
 * Which tokens a choice may produce and when it stops: allowed_token_ids and stop_token_ids (each id checked
 * against the vocabulary), stop strings, include_stop_str_in_output, ignore_eos, and min_tokens (0 when absent),
 * refused above the request's token limit. That is vLLM's check, made against the limit the request resolves to
 * (max_tokens, or what the context leaves; the smallest over a request's prompts), since that is the most it can
 * generate.
 */
export function outputSettings(
  req: SamplingFields,
  vocabSize: number,
  maxTokens: number,
  maxTokensParam: string,
): Pick<
  ChoiceSettings,
  'stop' | 'stopTokenIds' | 'minTokens' | 'ignoreEos' | 'includeStopStrInOutput' | 'allowedTokenIds'
> {
  const stopTokenIds = [...(req.stop_token_ids ?? [])];
  checkTokenIds(stopTokenIds, vocabSize, 'stop_token_ids');
  const allowedTokenIds =
    req.allowed_token_ids === null || req.allowed_token_ids === undefined ? null : [...new Set(req.allowed_token_ids)];
  if (allowedTokenIds !== null) checkTokenIds(allowedTokenIds, vocabSize, 'allowed_token_ids');
  const minTokens = req.min_tokens ?? 0;
  if (minTokens > maxTokens)
    throw new InvalidRequest(
      `min_tokens must be at most ${maxTokensParam} (${maxTokens}), got ${minTokens}.`,
      'min_tokens',
    );
  const stop = req.stop === null || req.stop === undefined ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop;
  return {
    stop: [...stop],
    stopTokenIds,
    minTokens,
    ignoreEos: req.ignore_eos ?? false,
    includeStopStrInOutput: req.include_stop_str_in_output ?? false,
    allowedTokenIds,
  };
}

/** `n` EngineRequests for one prompt; choice i has id `${requestId}-${firstIndex + i}` and seed + i. */
export function choiceRequests(
  requestId: string,
  promptIds: readonly number[],
  maxTokens: number,
  settings: ChoiceSettings,
  n: number,
  firstIndex = 0,
): EngineRequest[] {
  const seed = settings.sampling.seed;
  return Array.from({ length: n }, (_, i) => ({
    id: `${requestId}-${firstIndex + i}`,
    promptIds,
    maxTokens,
    sampling: seed === null ? settings.sampling : { ...settings.sampling, seed: seed + i },
    stop: settings.stop,
    stopTokenIds: settings.stopTokenIds,
    minTokens: settings.minTokens,
    includeStopStrInOutput: settings.includeStopStrInOutput,
    allowedTokenIds: settings.allowedTokenIds,
    ignoreEos: settings.ignoreEos,
    logprobs: settings.logprobs,
    promptLogprobs: settings.promptLogprobs,
    grammar: settings.grammar ?? null,
    ...(settings.skipSpecialTokens !== undefined && { skipSpecialTokens: settings.skipSpecialTokens }),
  }));
}
