// Drives one HTTP request's engine requests (n choices × prompts) and interleaves their TokenEvents into a
// single stream tagged with the choice index. One AbortController covers them all: the client leaving, the
// deadline, the server shutting down, or any choice failing aborts every engine request and closes their
// iterators (the engine's two cancellation paths).
import type { Engine, EngineRequest, TokenEvent } from '../engine/types.js';
import { abortReason } from './request-scope.js';

export interface ChoiceEvent {
  readonly index: number;
  readonly event: TokenEvent;
}

type Step = { readonly index: number; readonly result: IteratorResult<TokenEvent> };

function closeAll(iterators: readonly AsyncIterator<TokenEvent>[]): void {
  for (const it of iterators) it.return?.().catch(() => {});
}

/**
 * Submits `requests` (choice i = requests[i]) and waits for each one's first event, so that a failure before
 * the first token (queue full, invalid request, engine down) is thrown here and becomes an HTTP status rather
 * than an error inside an already-started stream.
 */
export async function startChoices(
  engine: Engine,
  requests: readonly EngineRequest[],
  controller: AbortController,
): Promise<AsyncIterable<ChoiceEvent>> {
  const iterators: AsyncIterator<TokenEvent>[] = [];
  try {
    for (const request of requests) iterators.push(engine.submit(request, controller.signal)[Symbol.asyncIterator]());
    const firsts = await Promise.all(iterators.map((it) => it.next()));
    if (controller.signal.aborted) throw abortReason(controller.signal);
    return mergeChoices(iterators, firsts, controller);
  } catch (err) {
    controller.abort();
    closeAll(iterators);
    throw err;
  }
}

async function* mergeChoices(
  iterators: readonly AsyncIterator<TokenEvent>[],
  firsts: readonly IteratorResult<TokenEvent>[],
  controller: AbortController,
): AsyncGenerator<ChoiceEvent> {
  const pending = new Map<number, Promise<Step>>();
  const finished = new Set<number>();
  const pull = (index: number): void => {
    const step = iterators[index]!.next().then((result) => ({ index, result }));
    step.catch(() => {}); // observed by the race below; this only keeps a late rejection from being "unhandled"
    pending.set(index, step);
  };
  firsts.forEach((result, index) => pending.set(index, Promise.resolve({ index, result })));

  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(controller.signal));
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    while (finished.size < iterators.length) {
      const { index, result } = await Promise.race([aborted, ...pending.values()]);
      pending.delete(index);
      if (result.done) {
        // An aborted request ends its stream quietly; say why rather than blame the engine.
        if (controller.signal.aborted) throw abortReason(controller.signal);
        throw new Error(`engine ended choice ${index} without a finish event`);
      }
      if (result.value.type === 'finish') {
        finished.add(index);
        // Let the engine's iterator run to its end on its own; nothing after `finish` is used.
        iterators[index]!.next().catch(() => {});
      } else {
        pull(index);
      }
      yield { index, event: result.value };
    }
  } finally {
    controller.signal.removeEventListener('abort', onAbort);
    if (finished.size < iterators.length) {
      controller.abort();
      closeAll(iterators.filter((_, i) => !finished.has(i)));
    }
  }
}
