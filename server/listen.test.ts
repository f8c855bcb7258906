import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { PortInUse, checkPortFree, listen } from './listen.js';

test('listen and checkPortFree report a taken port as PortInUse; a free one binds', async () => {
  const app = new Hono();
  app.get('/', (c) => c.text('ok'));
  const first = await listen(app, '127.0.0.1', 0);
  try {
    await assert.rejects(
      checkPortFree('127.0.0.1', first.port),
      (err) => err instanceof PortInUse && err.port === first.port,
    );
    await assert.rejects(listen(app, '127.0.0.1', first.port), (err) => err instanceof PortInUse);
    await checkPortFree('127.0.0.1', 0);
    assert.equal(await (await fetch(first.url)).text(), 'ok');
  } finally {
    await first.close();
  }
  await checkPortFree('127.0.0.1', first.port);
});
