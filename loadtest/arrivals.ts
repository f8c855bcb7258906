// When each request of a run is sent, as `vllm bench serve` schedules them: the first at 0, then gaps drawn from
// Gamma(shape = burstiness, scale = 1 / (rate · burstiness)) — mean 1/rate for every burstiness; burstiness 1 is a
// Poisson process, below 1 burstier, above 1 more even. An infinite rate sends everything at once. Concurrency is
// not part of the schedule: requests that arrive while the concurrency cap is reached wait for a free slot.
import { Rng } from '../util/rng.js';

export interface ArrivalProcess {
  /** Requests per second; Infinity sends every request at time 0. */
  readonly requestRate: number;
  /** Gamma shape; 1 = Poisson. */
  readonly burstiness: number;
}

/** Send times in ms from the start of the run, non-decreasing, `count` of them. */
export function arrivalOffsetsMs(count: number, process: ArrivalProcess, seed: number): number[] {
  const { requestRate, burstiness } = process;
  if (!(requestRate > 0)) throw new RangeError(`request rate must be > 0, got ${requestRate}`);
  if (!(burstiness > 0)) throw new RangeError(`burstiness must be > 0, got ${burstiness}`);
  const offsets = new Array<number>(count).fill(0);
  if (requestRate === Infinity) return offsets;
  const rng = new Rng(seed, 'arrivals');
  const scaleS = 1 / (requestRate * burstiness);
  let t = 0;
  for (let i = 1; i < count; i++) {
    t += rng.gamma(burstiness, scaleS) * 1000;
    offsets[i] = t;
  }
  return offsets;
}
