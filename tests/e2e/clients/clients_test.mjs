// e2e: a real `hearth serve` on a free loopback port, driven by the official client libraries from the npm
// registry (`openai` and `ollama`, versions pinned in package-lock.json): chat and completion, streaming
// and not, model listing, determinism, limits, stop strings, seeds and errors.
//
// Env: HEARTH (the binary), HEARTH_FIXTURES (the fixtures folder). Run through tests/e2e/npm_clients_test.sh.
// The fixture models carry no tokenizer.chat_template, so chat requests go through hearth's ChatML fallback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import OpenAI from 'openai';
import { Ollama } from 'ollama';

const HEARTH = process.env.HEARTH;
const FIX = process.env.HEARTH_FIXTURES;
if (!HEARTH || !FIX) {
  console.error('clients_test: set HEARTH (the hearth binary) and HEARTH_FIXTURES (the fixtures folder)');
  process.exit(2);
}
const STORIES = path.join(FIX, 'models', 'stories260K-f32.gguf');  // real model, ctx 128
const QWEN = path.join(FIX, 'models', 'qwen2-s-Q8_0.gguf');         // random weights, ctx 4096

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-npm-e2e-'));
const logPath = path.join(home, 'serve.log');
let server = null;  // the child process
let port = 0;
let openai, ollama;

// Whatever happens (a failed assertion, an exception, the watchdog), the server does not outlive us.
function killServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    try {
      server.kill('SIGKILL');
    } catch {}
  }
}
process.on('exit', (code) => {
  killServer();
  if (code !== 0 && fs.existsSync(logPath)) {
    const log = fs.readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n');
    console.error(`--- last lines of ${logPath} ---\n${log}`);
  }
  fs.rmSync(home, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
// The whole file must finish well within a minute; a hang fails instead of blocking CI.
const watchdog = setTimeout(() => {
  console.error('clients_test: watchdog: no result after 120 s');
  process.exit(1);
}, 120_000);
watchdog.unref();

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

// Store names carry Ollama's default tag: `stories` is listed as `stories:latest`.
const untagged = (name) => name.replace(/:latest$/, '');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function hearth(...args) {
  const r = spawnSync(HEARTH, args, { env: { ...process.env, HEARTH_HOME: home }, encoding: 'utf8' });
  assert.equal(r.status, 0, `hearth ${args.join(' ')} failed: ${r.error ?? r.stderr}`);
  return r.stdout;
}

before(async () => {
  hearth('pull', STORIES, '--name', 'stories', '--link', '-q');
  hearth('pull', QWEN, '--name', 'qwen', '--link', '-q');
  port = await freePort();
  const log = fs.openSync(logPath, 'w');
  server = spawn(HEARTH, ['serve', '--port', String(port)], {
    env: { ...process.env, HEARTH_HOME: home },
    stdio: ['ignore', 'ignore', log],
  });
  fs.closeSync(log);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`hearth serve exited with ${server.exitCode} (see ${logPath})`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('hearth serve did not answer /health within 15 s');
    await sleep(50);
  }
  openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'no-key', maxRetries: 0, timeout: 30_000 });
  ollama = new Ollama({ host: `http://127.0.0.1:${port}` });
});

after(async () => {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  const t = setTimeout(killServer, 10_000);
  await exited;
  clearTimeout(t);
});

// Waits until the server runs no generation for `model` (Ollama's /api/ps plus hearth's `active` count).
async function waitIdle(model) {
  const deadline = Date.now() + 5000;
  let active;
  for (;;) {
    const p = await ollama.ps();
    const mine = p.models.filter((m) => untagged(m.name) === model);
    assert.ok(mine.length === 1 && Number.isInteger(mine[0].active), `ps entry for ${model}: ${JSON.stringify(mine)}`);
    active = mine[0].active;
    if (active === 0) return;
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  assert.fail(`${model} still has ${active} active generation(s) 5 s after its client went away`);
}

// Collects an OpenAI chat stream: text, the chunks, the finish reason and the usage chunk.
async function collectChat(stream) {
  const out = { text: '', chunks: [], finish: null, usage: null, roles: [] };
  for await (const c of stream) {
    out.chunks.push(c);
    assert.equal(c.object, 'chat.completion.chunk');
    if (c.usage) out.usage = c.usage;
    for (const ch of c.choices) {
      if (ch.delta?.role) out.roles.push(ch.delta.role);
      if (ch.delta?.content) out.text += ch.delta.content;
      if (ch.finish_reason) out.finish = ch.finish_reason;
    }
  }
  return out;
}

async function collectCompletion(stream) {
  const out = { text: '', chunks: 0, finish: null, usage: null };
  for await (const c of stream) {
    out.chunks++;
    assert.equal(c.object, 'text_completion');
    if (c.usage) out.usage = c.usage;
    for (const ch of c.choices) {
      out.text += ch.text ?? '';
      if (ch.finish_reason) out.finish = ch.finish_reason;
    }
  }
  return out;
}

function checkUsage(u, completionTokens) {
  assert.ok(u, 'usage present');
  assert.ok(Number.isInteger(u.prompt_tokens) && u.prompt_tokens > 0, `prompt_tokens ${u.prompt_tokens}`);
  if (completionTokens !== undefined) assert.equal(u.completion_tokens, completionTokens);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
}

const chatMessages = [
  { role: 'system', content: 'You tell short stories.' },
  { role: 'user', content: 'Once upon a time' },
];

describe('openai', () => {
  test('models.list and models.retrieve', async () => {
    const ids = [];
    for await (const m of openai.models.list()) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
      assert.equal(typeof m.owned_by, 'string');
      ids.push(m.id);
    }
    assert.ok(ids.map(untagged).includes('stories') && ids.map(untagged).includes('qwen'), `listed: ${ids}`);
    const listed = ids.find((i) => untagged(i) === 'stories');
    const m = await openai.models.retrieve(listed);
    assert.equal(m.id, listed);
    assert.equal(m.object, 'model');
    await assert.rejects(openai.models.retrieve('no-such-model'), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, `got ${e}`);
      assert.equal(e.status, 404);
      assert.equal(typeof e.error?.message, 'string');
      return true;
    });
  });

  test('models.retrieve accepts the name that chat accepts (without the :latest tag)', async () => {
    // `model: "stories"` works for chat, so GET /v1/models/stories must find the same model (Ollama resolves
    // the default tag there too and answers with the id as asked).
    const m = await openai.models.retrieve('stories');
    assert.equal(untagged(m.id), 'stories');
  });

  test('chat: non-streaming, max_tokens, greedy determinism, streaming with usage', async () => {
    const req = { model: 'qwen', messages: chatMessages, max_tokens: 16, temperature: 0 };
    const a = await openai.chat.completions.create(req);
    assert.equal(a.object, 'chat.completion');
    assert.equal(a.model, 'qwen');
    assert.match(a.id, /\S/);
    assert.equal(typeof a.created, 'number');
    assert.equal(a.choices.length, 1);
    const ch = a.choices[0];
    assert.equal(ch.index, 0);
    assert.equal(ch.message.role, 'assistant');
    assert.equal(typeof ch.message.content, 'string');
    assert.ok(ch.message.content.length > 0, 'non-empty content');
    assert.equal(ch.finish_reason, 'length');
    checkUsage(a.usage, 16);

    const b = await openai.chat.completions.create(req);
    assert.equal(b.choices[0].message.content, ch.message.content, 'temperature 0 is deterministic');
    assert.equal(b.usage.prompt_tokens, a.usage.prompt_tokens);

    const s = await collectChat(
      await openai.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } }));
    assert.equal(s.text, ch.message.content, 'streamed text equals the non-streamed text');
    assert.deepEqual(s.roles, ['assistant'], 'the role is sent once, in the first delta');
    assert.equal(s.finish, 'length');
    checkUsage(s.usage, 16);
    assert.equal(s.usage.prompt_tokens, a.usage.prompt_tokens);
    const last = s.chunks[s.chunks.length - 1];
    assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
    const ids = new Set(s.chunks.map((c) => c.id));
    assert.equal(ids.size, 1, 'every chunk carries the same id');
    const contentChunks = s.chunks.filter((c) => c.choices[0]?.delta?.content).length;
    assert.ok(contentChunks >= 1 && contentChunks <= 16, `${contentChunks} content chunks for 16 tokens`);

    // Without include_usage no chunk has usage.
    const s2 = await collectChat(await openai.chat.completions.create({ ...req, stream: true }));
    assert.equal(s2.text, ch.message.content);
    assert.equal(s2.usage, null);
  });

  test('chat: max_completion_tokens (the newer name of max_tokens)', async () => {
    const r = await openai.chat.completions.create({
      model: 'stories', messages: [{ role: 'user', content: 'Once upon a time' }], max_completion_tokens: 5,
      temperature: 0,
    });
    assert.equal(r.choices[0].finish_reason, 'length');
    checkUsage(r.usage, 5);
  });

  test('completions: non-streaming and streaming agree; max_tokens; greedy text of the real model', async () => {
    const req = { model: 'stories', prompt: 'Once upon a time', max_tokens: 20, temperature: 0 };
    const a = await openai.completions.create(req);
    assert.equal(a.object, 'text_completion');
    assert.equal(a.model, 'stories');
    assert.equal(a.choices.length, 1);
    assert.equal(a.choices[0].index, 0);
    assert.equal(a.choices[0].finish_reason, 'length');
    checkUsage(a.usage, 20);
    // stories260K's documented greedy continuation of "Once upon a time".
    const greedy = fs.readFileSync(path.join(FIX, 'models', 'stories260K.greedy.txt'), 'utf8');
    const continuation = greedy.slice(greedy.indexOf('Once upon a time') + 'Once upon a time'.length);
    assert.ok(a.choices[0].text.length > 0);
    assert.ok(continuation.startsWith(a.choices[0].text),
      `greedy text ${JSON.stringify(a.choices[0].text)} is a prefix of the reference ${JSON.stringify(continuation.slice(0, 80))}`);

    const s = await collectCompletion(
      await openai.completions.create({ ...req, stream: true, stream_options: { include_usage: true } }));
    assert.equal(s.text, a.choices[0].text, 'streamed text equals the non-streamed text');
    assert.equal(s.finish, 'length');
    checkUsage(s.usage, 20);
    assert.equal(s.usage.prompt_tokens, a.usage.prompt_tokens);
  });

  test('completions: stop sequences', async () => {
    const base = { model: 'stories', prompt: 'Once upon a time', max_tokens: 40, temperature: 0 };
    const full = (await openai.completions.create(base)).choices[0].text;
    const at = full.indexOf(' little');
    assert.ok(at > 0, `the reference text contains " little": ${JSON.stringify(full)}`);
    for (const stop of [' little', [' little', 'zzzz']]) {
      const r = await openai.completions.create({ ...base, stop });
      assert.equal(r.choices[0].finish_reason, 'stop');
      assert.equal(r.choices[0].text, full.slice(0, at), 'the text ends right before the stop string');
      assert.ok(r.usage.completion_tokens < 40);
      const s = await collectCompletion(await openai.completions.create({ ...base, stop, stream: true }));
      assert.equal(s.text, full.slice(0, at), 'streamed text also stops before the stop string');
      assert.equal(s.finish, 'stop');
    }
    const c = await openai.chat.completions.create({
      model: 'stories', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 30, temperature: 0,
    });
    const text = c.choices[0].message.content;
    const word = text.trim().split(/\s+/)[1];
    if (word) {
      const cut = text.indexOf(word);
      const c2 = await openai.chat.completions.create({
        model: 'stories', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 30, temperature: 0,
        stop: [word],
      });
      assert.equal(c2.choices[0].finish_reason, 'stop');
      assert.equal(c2.choices[0].message.content, text.slice(0, cut));
    }
  });

  test('chat.completions.stream helper: events and finalChatCompletion', async () => {
    const req = { model: 'qwen', messages: chatMessages, max_tokens: 12, temperature: 0 };
    const plain = await openai.chat.completions.create(req);
    const runner = openai.chat.completions.stream({ ...req, stream_options: { include_usage: true } });
    let deltas = '';
    runner.on('content', (delta) => {
      deltas += delta;
    });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.role, 'assistant');
    assert.equal(final.choices[0].message.content, plain.choices[0].message.content);
    assert.equal(final.choices[0].finish_reason, 'length');
    assert.equal(deltas, plain.choices[0].message.content);
    checkUsage(final.usage, 12);
  });

  test('a stream the client abandons stops generating on the server', async () => {
    const stream = await openai.chat.completions.create({
      model: 'qwen', messages: chatMessages, max_tokens: 3000, temperature: 0, stream: true,
    });
    let n = 0;
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content && ++n >= 2) break;  // leaving the loop aborts the request
    }
    await waitIdle('qwen');
  });

  test('seed: the same seed reproduces a sampled text, other seeds vary it', async () => {
    const req = { model: 'stories', prompt: 'Once upon a time', max_tokens: 30, temperature: 1.0, seed: 1234 };
    const a = await openai.completions.create(req);
    const b = await openai.completions.create(req);
    assert.equal(b.choices[0].text, a.choices[0].text, 'same seed, same text');
    const others = [];
    for (const seed of [1, 2, 3]) others.push((await openai.completions.create({ ...req, seed })).choices[0].text);
    assert.ok(others.some((t) => t !== a.choices[0].text), 'some other seed gives another text');
    const c1 = await openai.chat.completions.create({ model: 'stories', messages: chatMessages, max_tokens: 12, temperature: 1, seed: 7 });
    const c2 = await openai.chat.completions.create({ model: 'stories', messages: chatMessages, max_tokens: 12, temperature: 1, seed: 7 });
    assert.equal(c2.choices[0].message.content, c1.choices[0].message.content);
  });

  test('errors: unknown model and bad parameters throw APIError with the OpenAI error shape', async () => {
    for (const call of [
      () => openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      () => openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      () => openai.completions.create({ model: 'no-such-model', prompt: 'hi' }),
    ]) {
      await assert.rejects(call(), (e) => {
        assert.ok(e instanceof OpenAI.APIError, `an APIError: ${e}`);
        assert.ok(e.status === 404 || e.status === 400, `status ${e.status}`);
        assert.equal(typeof e.error?.message, 'string');
        assert.match(e.error.message, /no-such-model/);
        assert.equal(typeof e.error.type, 'string');
        assert.ok('param' in e.error && 'code' in e.error, `error shape ${JSON.stringify(e.error)}`);
        assert.match(e.message, /^(404|400) /);
        return true;
      });
    }
    // A prompt longer than the context: 400 with OpenAI's code for it.
    await assert.rejects(openai.completions.create({ model: 'stories', prompt: 'word '.repeat(6000), max_tokens: 3 }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `got ${e}`);
      assert.equal(e.code, 'context_length_exceeded');
      return true;
    });
    await assert.rejects(
      openai.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'x' }], temperature: 5 }),
      (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, `got ${e}`);
        assert.equal(e.status, 400);
        assert.equal(e.type, 'invalid_request_error');
        return true;
      });
  });
});

describe('ollama', () => {
  test('version, list, show', async () => {
    const v = await ollama.version();
    assert.equal(typeof v.version, 'string');
    assert.ok(v.version.length > 0);
    const l = await ollama.list();
    const names = l.models.map((m) => untagged(m.name));
    assert.ok(names.includes('stories') && names.includes('qwen'), `listed ${names}`);
    for (const m of l.models) {
      assert.equal(m.model, m.name);
      assert.ok(m.size > 0, `size of ${m.name}`);
      assert.ok(!Number.isNaN(Date.parse(m.modified_at)), `modified_at ${m.modified_at}`);
      assert.equal(typeof m.digest, 'string');
      assert.equal(m.details.format, 'gguf');
    }
    assert.equal(l.models.find((m) => untagged(m.name) === 'qwen').details.family, 'qwen2');
    const s = await ollama.show({ model: 'stories' });
    assert.equal(s.model_info['general.architecture'], 'llama');
    assert.ok(s.model_info['general.parameter_count'] > 0);
    assert.equal(s.details.format, 'gguf');
    assert.equal(typeof s.modelfile, 'string');
    assert.equal(typeof s.template, 'string');
  });

  test('generate: non-streaming and streaming agree, num_predict, raw continuation', async () => {
    const req = { model: 'stories', prompt: 'Once upon a time', raw: true, options: { temperature: 0, num_predict: 12 } };
    const a = await ollama.generate(req);
    assert.equal(a.model, 'stories');
    assert.equal(a.done, true);
    assert.equal(a.done_reason, 'length');
    assert.equal(a.eval_count, 12);
    assert.ok(a.prompt_eval_count >= 0);
    assert.ok(a.total_duration > 0 && a.eval_duration > 0, 'durations in ns');
    assert.ok(a.response.startsWith(', there was'), `raw generate continues the prompt: ${JSON.stringify(a.response)}`);
    assert.ok(!Number.isNaN(Date.parse(a.created_at)));

    const parts = [];
    let final = null;
    for await (const p of await ollama.generate({ ...req, stream: true })) {
      if (p.done) final = p;
      else parts.push(p.response);
    }
    assert.ok(final, 'a final done message');
    assert.equal(parts.join('') + final.response, a.response, 'streamed text equals the non-streamed text');
    assert.equal(final.eval_count, 12);
    assert.equal(final.done_reason, 'length');
    assert.ok(parts.length >= 1 && parts.length <= 12);

    // Templated (not raw) generate with a system prompt and a stop string.
    const t = await ollama.generate({ model: 'qwen', prompt: 'hello', system: 'be brief', options: { temperature: 0, num_predict: 8 } });
    assert.equal(t.done, true);
    assert.ok(t.eval_count >= 1 && t.eval_count <= 8, `eval_count ${t.eval_count}`);
    assert.ok(t.prompt_eval_count > 0);
    const st = await ollama.generate({ ...req, options: { temperature: 0, num_predict: 40, stop: [' little'] } });
    assert.equal(st.done_reason, 'stop');
    assert.ok(!st.response.includes(' little'), JSON.stringify(st.response));
    assert.ok(st.eval_count < 40);
  });

  test('chat: non-streaming and streaming agree, done_reason and eval_count', async () => {
    const req = { model: 'qwen', messages: chatMessages, options: { temperature: 0, num_predict: 10 } };
    const a = await ollama.chat(req);
    assert.equal(a.model, 'qwen');
    assert.equal(a.done, true);
    assert.equal(a.done_reason, 'length');
    assert.equal(a.eval_count, 10);
    assert.equal(a.message.role, 'assistant');
    assert.ok(a.message.content.length > 0, 'non-empty content');
    const b = await ollama.chat(req);
    assert.equal(b.message.content, a.message.content, 'temperature 0 is deterministic');

    let text = '';
    let final = null;
    let n = 0;
    for await (const p of await ollama.chat({ ...req, stream: true })) {
      assert.equal(p.message.role, 'assistant');
      text += p.message.content;
      if (p.done) final = p;
      else n++;
    }
    assert.equal(text, a.message.content, 'streamed text equals the non-streamed text');
    assert.equal(final.eval_count, 10);
    assert.equal(final.done_reason, 'length');
    assert.ok(n >= 1 && n <= 10);

    // Same request through the OpenAI API gives the same greedy text.
    const o = await openai.chat.completions.create({ model: 'qwen', messages: chatMessages, max_tokens: 10, temperature: 0 });
    assert.equal(o.choices[0].message.content, a.message.content, 'both APIs sample the same greedy text');

    // Seeded sampling is reproducible here too.
    const seeded = { model: 'stories', messages: chatMessages, options: { temperature: 1, seed: 99, num_predict: 12 } };
    assert.equal((await ollama.chat(seeded)).message.content, (await ollama.chat(seeded)).message.content);
  });

  test('ps lists the loaded models', async () => {
    const p = await ollama.ps();
    const names = p.models.map((m) => untagged(m.name));
    assert.ok(names.includes('stories') && names.includes('qwen'), `ps: ${names}`);
    for (const m of p.models) {
      assert.ok(m.size > 0);
      assert.ok(!Number.isNaN(Date.parse(m.expires_at)), `expires_at ${m.expires_at}`);
    }
  });

  test('abort() of a stream stops the generation; keep_alive 0 unloads the model', async () => {
    const stream = await ollama.generate({ model: 'qwen', prompt: 'tell me everything', stream: true, options: { num_predict: 3000 } });
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const p of stream) {
          assert.equal(p.done, false);
          if (++n === 2) stream.abort();
        }
      })(),
      (e) => e.name === 'AbortError');
    await waitIdle('qwen');
    // An empty generate with keep_alive 0 unloads (Ollama's documented way), then ps no longer lists it.
    const u = await ollama.generate({ model: 'qwen', prompt: '', keep_alive: 0 });
    assert.equal(u.done, true);
    assert.equal(u.done_reason, 'unload');
    assert.ok(!(await ollama.ps()).models.some((m) => untagged(m.name) === 'qwen'), 'qwen is unloaded');
    // An empty chat loads it again.
    const l = await ollama.chat({ model: 'qwen', messages: [] });
    assert.equal(l.done_reason, 'load');
    assert.ok((await ollama.ps()).models.some((m) => untagged(m.name) === 'qwen'), 'qwen is loaded again');
  });

  test('copy and delete a store model', async () => {
    assert.deepEqual(await ollama.copy({ source: 'stories', destination: 'stories-copy' }), { status: 'success' });
    assert.ok((await ollama.list()).models.some((m) => untagged(m.name) === 'stories-copy'));
    const r = await ollama.generate({ model: 'stories-copy', prompt: 'Once upon a time', raw: true, options: { temperature: 0, num_predict: 12 } });
    assert.ok(r.response.startsWith(', there was'), 'the copy is the same model');
    assert.deepEqual(await ollama.delete({ model: 'stories-copy' }), { status: 'success' });
    assert.ok(!(await ollama.list()).models.some((m) => untagged(m.name) === 'stories-copy'));
    assert.ok((await ollama.list()).models.some((m) => untagged(m.name) === 'stories'), 'the source is still there');
    await assert.rejects(ollama.delete({ model: 'stories-copy' }), (e) => {
      assert.equal(e.name, 'ResponseError');
      assert.equal(e.status_code, 404);
      return true;
    });
  });

  test('errors: unknown model', async () => {
    for (const call of [
      () => ollama.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      () => ollama.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      () => ollama.generate({ model: 'no-such-model', prompt: 'hi' }),
      () => ollama.show({ model: 'no-such-model' }),
    ]) {
      await assert.rejects(call(), (e) => {
        assert.equal(e.name, 'ResponseError', `got ${e}`);
        assert.equal(e.status_code, 404);
        assert.match(e.error, /no-such-model/);
        return true;
      });
    }
    await assert.rejects(ollama.generate({ model: 'stories', prompt: 'x', options: { temperature: 'hot' } }), (e) => {
      assert.equal(e.status_code, 400);
      assert.match(e.error, /temperature/);
      return true;
    });
  });
});
