// Legacy completion responses from merged choice events: `text_completion` objects, collected or streamed.
// Choice i answers prompt ⌊i / n⌋. With echo the prompt's text comes first, and (collected only) the prompt
// tokens' logprobs lead the legacy logprobs block, the first one null. With best_of, `n` is the candidates per
// prompt and only the `returned` best of each prompt's candidates are kept (best-of.ts).
import type { LogprobEntry } from '../sampling/index.js';
import type { ChoiceEvent } from './choices.js';
import {
  appendLegacyLogprobs,
  emptyLegacyLogprobs,
  promptLogprobs,
  type LegacyLogprobs,
  type TokenNames,
} from './logprobs.js';
import type { SendChunk } from './sse.js';
import { UsageTally } from './usage.js';
import { pickBest } from './best-of.js';

export interface CompletionPrompt {
  readonly ids: readonly number[];
  /** The prompt as text: the client's string, or the decoded ids. */
  readonly text: string;
}

export interface CompletionResponseContext {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  /** Choices generated per prompt (best_of when given, else n). */
  readonly n: number;
  /** Choices returned per prompt: the `returned` of each prompt's `n` with the highest cumulative logprob; null = all. */
  readonly returned?: number | null;
  readonly prompts: readonly CompletionPrompt[];
  readonly names: TokenNames;
  readonly echo: boolean;
  /** Legacy `logprobs` (alternatives per token); null = none. */
  readonly logprobs: number | null;
  readonly promptTopLogprobs: number | null;
}

type FinishEvent = Extract<ChoiceEvent['event'], { type: 'finish' }>;

function promptOf(ctx: CompletionResponseContext, index: number) {
  return ctx.prompts[Math.floor(index / ctx.n)]!;
}

function usageTally(ctx: CompletionResponseContext): UsageTally {
  return new UsageTally(
    ctx.prompts.reduce((sum, p) => sum + p.ids.length, 0),
    ctx.n,
  );
}

function finishFields(ctx: CompletionResponseContext, finish: FinishEvent): object {
  return {
    finish_reason: finish.reason,
    stop_reason: finish.stopReason,
    ...(ctx.promptTopLogprobs !== null && {
      prompt_logprobs: promptLogprobs(finish.promptLogprobs ?? [], ctx.names, ctx.promptTopLogprobs),
    }),
  };
}

export async function collectCompletion(
  events: AsyncIterable<ChoiceEvent>,
  ctx: CompletionResponseContext,
): Promise<object> {
  const count = ctx.prompts.length * ctx.n;
  const texts: string[] = Array.from({ length: count }, () => '');
  const ids: number[][] = Array.from({ length: count }, () => []);
  const entries: LogprobEntry[][] = Array.from({ length: count }, () => []);
  const finishes: (FinishEvent | undefined)[] = [];
  const usage = usageTally(ctx);
  for await (const { index, event } of events) {
    if (event.type === 'delta') {
      texts[index] += event.text;
      ids[index]!.push(...event.tokenIds);
      if (event.logprobs) entries[index]!.push(...event.logprobs);
    } else {
      finishes[index] = event;
      usage.add(index, event.usage);
    }
  }
  const choices = texts.map((generated, index) => {
    const prompt = promptOf(ctx, index);
    const finish = finishes[index]!;
    let logprobs: LegacyLogprobs | null = null;
    if (ctx.logprobs !== null) {
      logprobs = emptyLegacyLogprobs();
      let offset = 0;
      if (ctx.echo) {
        const scored = finish.promptLogprobs ?? [];
        appendLegacyLogprobs(logprobs, prompt.ids, scored, ctx.names, ctx.logprobs, 0);
        offset = prompt.text.length;
      }
      appendLegacyLogprobs(logprobs, ids[index]!, entries[index]!, ctx.names, ctx.logprobs, offset);
    }
    const text = ctx.echo ? prompt.text + generated : generated;
    return { index, text, logprobs, ...finishFields(ctx, finish) };
  });
  const returned = ctx.returned ?? ctx.n;
  const kept =
    returned === ctx.n
      ? choices
      : pickBest(
          choices,
          entries.map((e) => e.reduce((sum, entry) => sum + entry.logprob, 0)),
          ctx.n,
          returned,
        );
  return {
    id: ctx.id,
    object: 'text_completion',
    created: ctx.created,
    model: ctx.model,
    choices: kept,
    usage: usage.toJSON(),
  };
}

export async function streamCompletion(
  events: AsyncIterable<ChoiceEvent>,
  ctx: CompletionResponseContext,
  includeUsage: boolean,
  send: SendChunk,
): Promise<void> {
  const chunk = (choices: object[]): object => ({
    id: ctx.id,
    object: 'text_completion',
    created: ctx.created,
    model: ctx.model,
    choices,
    ...(includeUsage && { usage: null }),
  });
  const count = ctx.prompts.length * ctx.n;
  // Where the next token's text starts in each choice's text, for legacy text_offset.
  const offsets: number[] = Array.from({ length: count }, (_, i) => (ctx.echo ? promptOf(ctx, i).text.length : 0));
  if (ctx.echo) {
    for (let index = 0; index < count; index++) {
      await send(chunk([{ index, text: promptOf(ctx, index).text, logprobs: null, finish_reason: null }]));
    }
  }
  const usage = usageTally(ctx);
  for await (const { index, event } of events) {
    if (event.type === 'delta') {
      let logprobs: LegacyLogprobs | null = null;
      if (ctx.logprobs !== null && event.logprobs) {
        logprobs = emptyLegacyLogprobs();
        offsets[index] = appendLegacyLogprobs(
          logprobs,
          event.tokenIds,
          event.logprobs,
          ctx.names,
          ctx.logprobs,
          offsets[index]!,
        );
      }
      if (event.text === '' && logprobs === null) continue;
      await send(chunk([{ index, text: event.text, logprobs, finish_reason: null }]));
    } else {
      usage.add(index, event.usage);
      await send(chunk([{ index, text: '', logprobs: null, ...finishFields(ctx, event) }]));
    }
  }
  if (includeUsage) await send({ ...chunk([]), usage: usage.toJSON() });
}
