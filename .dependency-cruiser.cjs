// Dependency direction (docs/DESIGN.md §1): cli → server → engine → grammar → model → cache → quant, never back up.
// synth/ (demo checkpoints) sits beside cli and uses model/ and quant/; util/ is imported by all and imports none.
// grammar/ (xgrammar in its worker) depends on nothing of ours: the engine and the server use it, not the reverse.
// sampling/ (pure token choice, penalties, masks, logprobs) is shared by the engine and the executor worker, so it
// depends on nothing of ours that either sits above or below it.
// Only the executor worker imports onnxruntime-node; the graph builder produces bytes and never runs them.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'only-worker-imports-ort',
      severity: 'error',
      comment:
        'onnxruntime-node lives in the executor worker only (tests, and the bench that races single ORT ops, may use it).',
      from: {
        pathNot: [
          '^(dist/)?model/executor/worker\\.[jt]s$',
          '\\.test\\.[jt]s$',
          '^bench/moe-layer-bench\\.ts$',
          '^bench/int8-gemm-bench\\.ts$',
        ],
      },
      to: { path: 'onnxruntime-node' },
    },
    {
      name: 'server-not-below',
      severity: 'error',
      from: { path: '^(engine|grammar|model|cache|quant)/' },
      to: { path: '^(server|cli)/|^cli\\.ts$' },
    },
    {
      name: 'engine-not-below',
      severity: 'error',
      from: { path: '^(grammar|model|cache|quant)/' },
      to: { path: '^engine/' },
    },
    {
      name: 'grammar-stands-alone',
      severity: 'error',
      comment: 'the grammar worker knows specs and vocabularies, not models',
      from: { path: '^grammar/' },
      to: { path: '^(model|cache|quant)/' },
    },
    {
      name: 'sampling-stands-alone',
      severity: 'error',
      comment:
        'the engine and the executor worker both run sampling: it knows rows and options, not requests, models or HTTP',
      from: { path: '^sampling/', pathNot: '\\.test\\.[jt]s$' },
      to: { path: '^(server|cli|engine|grammar|model|cache|quant|loadtest)/|^cli\\.ts$' },
    },
    { name: 'model-not-below', severity: 'error', from: { path: '^(cache|quant)/' }, to: { path: '^model/' } },
    { name: 'cache-not-below', severity: 'error', from: { path: '^quant/' }, to: { path: '^cache/' } },
    {
      name: 'synth-is-a-tool',
      severity: 'error',
      comment: 'synth/ writes demo checkpoints for cli, bench and tests; what it writes, model/ only reads',
      from: { path: '^(server|engine|grammar|model|cache|quant|loadtest)/' },
      to: { path: '^synth/' },
    },
    {
      name: 'synth-knows-checkpoints-only',
      severity: 'error',
      comment: 'synth/ may use model/ and quant/, never the serving side',
      from: { path: '^synth/' },
      to: { path: '^(server|engine|grammar|cli|loadtest)/|^cli\\.ts$' },
    },
    {
      name: 'util-stands-alone',
      severity: 'error',
      comment: 'util/ is imported by every folder, so it imports none of them',
      from: { path: '^util/' },
      to: { path: '^(cli|server|engine|grammar|model|cache|quant|synth|loadtest|bench|tests)/|^cli\\.ts$' },
    },
    {
      name: 'loadtest-speaks-http',
      severity: 'error',
      comment: 'the load generator only speaks HTTP',
      from: { path: '^loadtest/' },
      to: { path: '^(server|engine|grammar|model|cache|quant|synth)/' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|tests/fixtures)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
