// A server over a freshly synthesized random-weight checkpoint (tiny's shapes, a 2,048-token window for the tools
// the template writes into the system prompt) with the grammar worker: with random weights, every valid JSON
// object or tool call is the grammar's doing. Registers its own before/after hooks.
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthPresetConfig, synthesizeCheckpoint } from '../../synth/synth.js';
import { startModelServer, type ModelServer } from './server.js';

/** The server, once the suite's `before` hook has run. */
export function randomModelServer(): { readonly server: ModelServer } {
  const handle: { server: ModelServer | null } = { server: null };
  let root = '';
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'latentserve-random-'));
    await synthesizeCheckpoint({
      outDir: join(root, 'tiny'),
      seed: 11,
      config: { ...synthPresetConfig('tiny'), max_position_embeddings: 2048 },
    });
    handle.server = await startModelServer(join(root, 'tiny'), { grammar: true, numBlocks: 256 });
  });
  after(async () => {
    await handle.server?.close();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    get server(): ModelServer {
      if (handle.server === null) throw new Error('randomModelServer: used before its before() hook ran');
      return handle.server;
    },
  };
}
