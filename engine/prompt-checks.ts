// Prompt and context checks, written once: token ids inside the vocabulary, a non-empty prompt, and prompt +
// completion inside the context window. The server calls them on every request before it builds EngineRequests
// (naming the field that failed); the engine calls assertFits on what it is handed, so the offline path
// (`latentserve complete`, tests) is held to the same rules with the same messages.
import { ContextLengthExceeded, InvalidRequest } from './errors.js';

/** The one 400 for an id outside [0, vocabSize), whichever field named it. */
export function checkTokenId(id: number, vocabSize: number, param: string): void {
  if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
    throw new InvalidRequest(
      `Token id ${id} is out of vocabulary: this model's token ids are 0 to ${vocabSize - 1}.`,
      param,
    );
  }
}

export function checkTokenIds(ids: readonly number[], vocabSize: number, param: string): void {
  for (const id of ids) checkTokenId(id, vocabSize, param);
}

/**
 * Tokens to generate: the request's limit, or whatever the context window leaves. Throws
 * ContextLengthExceeded when prompt + completion would not fit: naming the prompt (`param`) when the prompt alone
 * leaves no room, else `maxTokensParam` (vLLM's "max_tokens is too large"), since then the limit asked for is what
 * does not fit.
 */
export function resolveMaxTokens(
  promptLen: number,
  requested: number | null | undefined,
  maxModelLen: number,
  param: string,
  maxTokensParam = 'max_tokens',
): number {
  if (promptLen === 0) throw new InvalidRequest('The prompt is empty.', param);
  const maxTokens = requested ?? maxModelLen - promptLen;
  if (promptLen >= maxModelLen) {
    throw new ContextLengthExceeded(
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${promptLen + 1} tokens ` +
        `(${promptLen} in the ${param}, 1 in the completion). Please reduce the length of the ${param}.`,
      param,
    );
  }
  if (maxTokens < 1 || promptLen + maxTokens > maxModelLen) {
    throw new ContextLengthExceeded(
      `'${maxTokensParam}' is too large: ${maxTokens}. This model's maximum context length is ${maxModelLen} tokens ` +
        `and your request has ${promptLen} input tokens (${maxTokens} > ${maxModelLen} - ${promptLen}).`,
      maxTokensParam,
    );
  }
  return maxTokens;
}

/**
 * The engine's assertion on an EngineRequest: the checks above, with the engine's own vocabulary (the model's
 * rows) and window. The server has already run them with the request's field names; this catches the offline
 * path and any caller that did not.
 */
export function assertFits(
  promptIds: readonly number[],
  maxTokens: number,
  vocabSize: number,
  maxModelLen: number,
): void {
  checkTokenIds(promptIds, vocabSize, 'prompt');
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new InvalidRequest(`max_tokens must be a positive integer, got ${maxTokens}.`, 'max_tokens');
  resolveMaxTokens(promptIds.length, maxTokens, maxModelLen, 'prompt');
}
