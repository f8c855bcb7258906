// The engine's side of sampling: per step, one RowSpec for every logits row a request reads (its prompt-logprob
// rows, then its sampling row with the uniform draw from its seeded RNG, its penalty state and its mask slot);
// then the executor's RowResults applied back to the requests. The logits themselves stay where they are computed
// (sampling/row-sampler.ts runs there): nothing here touches a vocabulary-sized array.
import type { MatcherId, StepMasks } from '../grammar/grammar-service.js';
import { ExecutorError } from '../model/executor/errors.js';
import type { Rng } from '../util/rng.js';
import type { PenaltyTracker } from '../sampling/logits-processors.js';
import type { RowResult, RowSpec, StepMaskRows } from '../sampling/step-spec.js';
import type { LogprobEntry } from '../sampling/types.js';
import type { GrammarMasks } from './grammar-masks.js';
import type { Request } from './request.js';
import type { RowPlan } from './step-inputs.js';

export interface SampledToken {
  readonly token: number;
  readonly logprob: LogprobEntry | null;
}

/**
 * A request's uniform draws, in order. A draw sent with a step that never ran (the executor was found dead
 * before the step was sent) is given back and is the next one taken, so a seeded request draws the same
 * sequence whatever happens to the steps it is in.
 */
export class Draws {
  private readonly spare: number[] = [];
  constructor(private readonly rng: Rng) {}

  next(): number {
    return this.spare.shift() ?? this.rng.nextUnit();
  }

  giveBack(u: number): void {
    this.spare.push(u);
  }
}

/** What the sampler needs of a live request. */
export interface SamplingState {
  readonly request: Request;
  readonly draws: Draws;
  readonly penalties: PenaltyTracker;
  /** The request's grammar matcher; null = free text. */
  readonly matcher: MatcherId | null;
}

/** A step's row specs, and whose each one is. */
export interface StepRows {
  readonly specs: readonly RowSpec[];
  /** Request id of each spec. */
  readonly owners: readonly string[];
}

export interface StepOutcome {
  readonly sampled: Map<string, SampledToken>;
  readonly failed: [string, ExecutorError][];
  /** Requests whose sampling row is held for a late mask. */
  readonly held: string[];
}

export class StepSampler {
  constructor(private readonly grammar: GrammarMasks) {}

  /** The step's row specs; `fills` are the matchers of its constrained rows, in mask order. */
  plan(plans: readonly RowPlan[], states: ReadonlyMap<string, SamplingState>, fills: readonly MatcherId[]): StepRows {
    const specs: RowSpec[] = [];
    const owners: string[] = [];
    for (const plan of plans) {
      const { request } = plan.scheduled;
      const state = states.get(request.id);
      if (state === undefined) continue;
      for (const { row, position } of plan.promptRows) {
        specs.push({ kind: 'score', row, token: request.tokenIds[position + 1]!, numTop: request.promptLogprobs ?? 0 });
        owners.push(request.id);
      }
      if (plan.sampleRow === null) continue;
      const options = request.sampling;
      specs.push({
        kind: 'sample',
        row: plan.sampleRow,
        options,
        // sampleToken draws once exactly when temperature > 0 (a row it reaches always has a finite logit).
        uniform: options.temperature > 0 ? state.draws.next() : null,
        penalties: state.penalties.snapshot(options),
        logprobs: request.logprobs,
        maskSlot: state.matcher === null ? null : fills.indexOf(state.matcher),
        holdBack:
          request.numOutputTokens < request.minTokens && request.stopTokenIds.size > 0
            ? [...request.stopTokenIds]
            : null,
        allowed: request.allowedTokenIds,
      });
      owners.push(request.id);
    }
    return { specs, owners };
  }

  /** The step never ran: its draws go back to their requests. */
  giveBack(rows: StepRows, states: ReadonlyMap<string, SamplingState>): void {
    rows.specs.forEach((spec, i) => {
      if (spec.kind === 'sample' && spec.uniform !== null) states.get(rows.owners[i]!)?.draws.giveBack(spec.uniform);
    });
  }

  /**
   * Applies a step's results: prompt logprobs recorded, tokens counted for penalties and handed to grammars. A
   * request with any failed row fails as a whole (and records nothing).
   */
  collect(rows: StepRows, results: readonly RowResult[], states: ReadonlyMap<string, SamplingState>): StepOutcome {
    const failures = new Map<string, ExecutorError>();
    results.forEach((r, i) => {
      const id = rows.owners[i]!;
      if (r.kind === 'failed' && !failures.has(id))
        failures.set(id, new ExecutorError(`${r.message} for request ${id}`, r.code));
    });
    const sampled = new Map<string, SampledToken>();
    const held: string[] = [];
    results.forEach((r, i) => {
      const id = rows.owners[i]!;
      const state = states.get(id);
      if (state === undefined || failures.has(id)) return;
      if (r.kind === 'score') state.request.promptLogprobEntries.push(r.entry);
      else if (r.kind === 'held') held.push(id);
      else if (r.kind === 'token') sampled.set(id, this.accept(state, r.token, r.logprob));
    });
    return { sampled, failed: [...failures], held };
  }

  /** One held row's late result: the token, or why its request fails. */
  collectLate(state: SamplingState, result: RowResult): SampledToken | ExecutorError {
    if (result.kind === 'token') return this.accept(state, result.token, result.logprob);
    const { id } = state.request;
    if (result.kind === 'failed') return new ExecutorError(`${result.message} for request ${id}`, result.code);
    return new ExecutorError(`executor answered a held row with ${result.kind} for request ${id}`, 'executor_error');
  }

  private accept(state: SamplingState, token: number, logprob: LogprobEntry | null): SampledToken {
    state.penalties.add(token);
    if (state.matcher !== null) this.grammar.sampled(state.matcher, token);
    return { token, logprob };
  }
}

/** The grammar backend's masks for `fills`, as a step's StepMaskRows (slot j = fills[j]). */
export function stepMaskRows(masks: StepMasks, fills: readonly MatcherId[]): StepMaskRows {
  const refused = fills.map((m) =>
    masks.missing.has(m)
      ? 'the grammar could not be loaded'
      : masks.rejected.has(m)
        ? 'the previous token was refused'
        : null,
  );
  return { masks: masks.masks, words: masks.words, refused };
}

/** Every slot refused: what a step's constrained rows get when the grammar backend failed. */
export function refusedMaskRows(slots: number, why: string): StepMaskRows {
  return { masks: new Int32Array(0), words: 0, refused: Array.from({ length: slots }, () => why) };
}
