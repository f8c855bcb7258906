// What a request asks of sampling, and what sampling reports: one SamplingOptions type for the API layer, the
// engine and the executor worker alike.

export interface SamplingOptions {
  /** 0 means greedy. */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  readonly topP: number;
  /** Keep the k most likely tokens; 0 = off. */
  readonly topK: number;
  /** Drop tokens with probability < minP × max probability; 0 = off. */
  readonly minP: number;
  /** OpenAI semantics: subtracted once from logits of tokens already generated. */
  readonly presencePenalty: number;
  /** OpenAI semantics: subtracted per occurrence among generated tokens. */
  readonly frequencyPenalty: number;
  /** HF/vLLM semantics over prompt and generated tokens: positive logits ÷ p, negative × p; 1 = off. */
  readonly repetitionPenalty: number;
  /** Added to the logit of each listed token id. */
  readonly logitBias: ReadonlyMap<number, number> | null;
  /** Same seed ⇒ same output; null = random. */
  readonly seed: number | null;
}

export const DEFAULT_SAMPLING: SamplingOptions = {
  temperature: 1,
  topP: 1,
  topK: 0,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: null,
  seed: null,
};

export interface TokenLogprob {
  readonly id: number;
  readonly logprob: number;
}

export interface LogprobEntry extends TokenLogprob {
  /** The K most likely tokens, highest first. */
  readonly top: readonly TokenLogprob[];
}

/** Where a token draw's uniform number comes from: a request's seeded Rng, or the one draw sent with a step. */
export interface UniformSource {
  /** Uniform in (0, 1]. */
  nextUnit(): number;
}
