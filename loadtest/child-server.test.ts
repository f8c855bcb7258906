import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChildExited, startChildServer, stopChildServer } from './child-server.js';
import { freePort } from './free-port.js';

// A stand-in server: /health answers 503 for its first two polls (as llama-server does while it loads), then 200;
// it logs a line on stdout and on stderr, and exits 0 on SIGTERM.
const SERVER = `
const http = require('node:http');
let polls = 0;
const server = http.createServer((req, res) => {
  res.statusCode = req.url === '/health' && ++polls > 2 ? 200 : 503;
  res.end();
});
server.listen(Number(process.argv[1]), '127.0.0.1', () => {
  process.stdout.write('{"level":30,"msg":"listening"}\\n{"level":50,');
  process.stdout.write('"msg":"split line"}\\n');
  process.stderr.write('loading done\\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

test('ready once /health is 200; stdout comes as whole lines, stderr as it comes; SIGTERM stops it', async () => {
  const port = await freePort();
  const lines: string[] = [];
  let stderr = '';
  const served = await startChildServer({
    name: 'stand-in',
    args: ['-e', SERVER, String(port)],
    url: `http://127.0.0.1:${port}`,
    timeoutMs: 20_000,
    onStdoutLine: (line) => lines.push(line),
    onStderr: (text) => {
      stderr += text;
    },
  });
  assert.equal((await fetch(`${served.url}/health`)).status, 200);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(lines, ['{"level":30,"msg":"listening"}', '{"level":50,"msg":"split line"}']);
  assert.equal(stderr, 'loading done\n');
  assert.match(served.output(), /split line[\s\S]*loading done|loading done[\s\S]*split line/);
  assert.equal(await stopChildServer(served.proc), 0);
  assert.equal(await stopChildServer(served.proc), 0); // already stopped: no-op
});

test('a child that exits first is a ChildExited carrying its code and output (a usage error)', async () => {
  const port = await freePort();
  const err = await startChildServer({
    name: 'serve',
    args: ['-e', "process.stderr.write('latentserve serve: unknown option --quant\\n'); process.exit(2)"],
    url: `http://127.0.0.1:${port}`,
    timeoutMs: 20_000,
  }).catch((e: unknown) => e);
  assert.ok(err instanceof ChildExited, String(err));
  assert.equal(err.code, 2);
  assert.match(err.output, /unknown option --quant/);
  assert.match(err.message, /serve exited \(2\)/);
});

test('a child never healthy is killed after the timeout', async () => {
  const port = await freePort();
  const started = performance.now();
  await assert.rejects(
    startChildServer({
      name: 'silent',
      args: ['-e', 'setInterval(() => {}, 1000)'],
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 1_000,
    }),
    /silent was not healthy after 1 s/,
  );
  assert.ok(performance.now() - started < 10_000);
});
