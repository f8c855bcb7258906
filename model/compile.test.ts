import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileModel } from './compile.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(repoRoot, 'tests/fixtures/deepseek-v3-tiny-b');
const COMPILE_JS = fileURLToPath(new URL('./compile.js', import.meta.url));

function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'compile-test-'));
  return Promise.resolve(fn(dir)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a compile that fails (checkpoint does not open, or a tensor is bad) leaves no tmp folder or lock behind', () =>
  withDir((root) => {
    const model = join(root, 'model');
    cpSync(FIXTURE, model, { recursive: true });
    const cacheDir = join(root, 'cache');
    writeFileSync(join(model, 'model.safetensors'), Buffer.from('not a safetensors file'));
    assert.throws(() => compileModel(model, { cacheDir }), /not a safetensors file|corrupt safetensors header/);
    assert.deepEqual(readdirSync(join(cacheDir, 'compiled')), []);
  }));

/** Compiles `model` in a child process; resolves with its stderr lines. */
function compileInChild(model: string, cacheDir: string): Promise<string> {
  const script = `import { compileModel } from ${JSON.stringify(COMPILE_JS)};
compileModel(${JSON.stringify(model)}, { cacheDir: ${JSON.stringify(cacheDir)}, onProgress: (m) => process.stderr.write(m + '\\n') });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(err) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

test('two processes compiling the same checkpoint at once: one compiles, the other waits and reuses it', () =>
  withDir(async (root) => {
    const cacheDir = join(root, 'cache');
    const logs = await Promise.all([compileInChild(FIXTURE, cacheDir), compileInChild(FIXTURE, cacheDir)]);
    const compiled = logs.filter((l) => /^compiling /m.test(l));
    assert.equal(compiled.length, 1, logs.join('\n---\n'));
    const entries = readdirSync(join(cacheDir, 'compiled'));
    assert.equal(entries.length, 1, entries.join(', '));
    assert.ok(existsSync(join(cacheDir, 'compiled', entries[0]!, 'model.onnx')));
    // The waiter said why it waited, unless it only arrived after the compile was done.
    const other = logs.find((l) => !/^compiling /m.test(l))!;
    assert.ok(other === '' || /is compiling .* waiting to reuse it/.test(other), other);
  }));
