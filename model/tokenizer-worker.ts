// The tokenizer thread's entry: loads the folder's tokenizer and encodes texts one message at a time. Long prompts
// take hundreds of milliseconds to tokenize (BPE in JavaScript); here they do not hold up the HTTP thread, where
// every stream's next chunk is written.
import { parentPort, workerData } from 'node:worker_threads';
import { ModelTokenizer } from './tokenizer.js';
import type { EncodeReply, EncodeRequest } from './tokenizer-thread.js';

const port = parentPort;
if (port === null) throw new Error('tokenizer worker must run in a worker_thread');
const tokenizer = await ModelTokenizer.load((workerData as { dir: string }).dir);
port.on('message', (msg: EncodeRequest) => {
  let reply: EncodeReply;
  try {
    const ids = Int32Array.from(tokenizer.encode(msg.text, { addSpecialTokens: msg.addSpecialTokens }));
    reply = { id: msg.id, ids };
  } catch (err) {
    reply = { id: msg.id, error: (err as Error).message };
  }
  port.postMessage(reply, 'ids' in reply ? [reply.ids.buffer as ArrayBuffer] : []);
});
port.postMessage({ ready: true });
