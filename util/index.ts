// util/: small building blocks every folder may import (the dependency lint allows it from anywhere, loadtest/
// included); util/ itself imports nothing of the project, only node: modules.
//
//   rng.ts   the seeded PRNG (checkpoint tensors, request seeds, load-generator arrivals and prompts)
export { Rng } from './rng.js';
