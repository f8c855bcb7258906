// loadtest/: the load generator and its report (`latentserve bench serve | http`, `npm run bench`). Speaks only
// HTTP to a running server — ours or any OpenAI-compatible one — and imports nothing from server/, engine/,
// model/, cache/ or quant/ (the dependency lint enforces it); util/ (the seeded RNG) is shared with everyone.
//
//   client/        one streamed request (stream-request.ts), SSE framing, /tokenize, the target and its guard
//   arrivals.ts    when requests are sent (Poisson / gamma / all at once); util/rng.ts seeds it
//   dataset.ts     random prompts of an exact token length, or a JSONL file
//   run-level.ts   one concurrency level: arrivals, the concurrency cap, the deadline
//   metrics.ts     vLLM's serving metrics (TTFT, TPOT, ITL, E2EL, throughputs, goodput)
//   serve-bench.ts the sweep; write-report.ts → results.json, report.md (report-md.ts), SVGs (charts-svg.ts)
//   http-bench.ts  autocannon against /health and a 1-token completion
//   run-all.ts     `npm run bench`: serve the mini checkpoint and run all of the above
export {};
