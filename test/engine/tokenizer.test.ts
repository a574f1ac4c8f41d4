import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { StreamDecoder, Tokenizer } from '../../src/engine/tokenizer/tokenizer.js';
import type { ChatMessage } from '../../src/engine/tokenizer/tokenizer.js';
import {
  builtinTinyTokenizer,
  builtinTinyTokenizerFiles,
} from '../../src/engine/tokenizer/builtin-tiny-tokenizer.js';
import { fixture } from '../helpers/fixtures.js';
import { throwsCode } from '../helpers/errors.js';

interface Reference {
  tokenizer_vocab: number;
  chat_template: string;
  encode: { text: string; ids: number[] }[];
  chat: { messages: ChatMessage[]; text: string; ids: number[] }[];
  pairs: { messages: ChatMessage[]; chosen: string; rejected: string }[];
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function loadReference(t: TestContext): { tok: Tokenizer; ref: Reference } | undefined {
  const dir = fixture(t, 'hf-tiny', 'tiny-llama');
  const refPath = fixture(t, 'hf-tiny', 'reference', 'tokenizer.json');
  if (!dir || !refPath) return undefined;
  return { tok: Tokenizer.fromDir(dir), ref: readJson<Reference>(refPath) };
}

/** The int64 tensors of a safetensors file, as number rows (enough for the reference ids). */
function readI64Tensors(path: string): Map<string, number[][]> {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, number[][]>();
  for (const [name, info] of Object.entries(header)) {
    if (info.dtype !== 'I64') continue;
    const [rows, cols] = info.shape;
    const start = 8 + headerLen + info.data_offsets[0];
    const m: number[][] = [];
    for (let r = 0; r < rows; r++) {
      const row: number[] = [];
      for (let c = 0; c < cols; c++)
        row.push(Number(buf.readBigInt64LE(start + (r * cols + c) * 8)));
      m.push(row);
    }
    out.set(name, m);
  }
  return out;
}

function withTmpDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tok-test-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Streams ids one at a time and checks that no chunk holds half a character. */
function streamChunks(tok: Tokenizer, ids: number[]): { chunks: string[]; tail: string } {
  const sd = new StreamDecoder(tok);
  const chunks: string[] = [];
  for (let i = 1; i <= ids.length; i++) {
    const c = sd.update(ids.slice(0, i));
    assert.ok(!c.includes('\uFFFD'), `chunk ${i} holds a partial character: ${JSON.stringify(c)}`);
    assert.doesNotMatch(c, LONE_SURROGATE, `chunk ${i} holds a lone surrogate`);
    chunks.push(c);
  }
  return { chunks, tail: sd.flush() };
}

test('encode matches the transformers reference ids exactly', (t) => {
  const r = loadReference(t);
  if (!r) return;
  assert.ok(r.ref.encode.length >= 4);
  for (const c of r.ref.encode)
    assert.deepEqual(r.tok.encode(c.text), c.ids, `encode(${JSON.stringify(c.text)})`);
});

test('chat template renders and encodes exactly like transformers', (t) => {
  const r = loadReference(t);
  if (!r) return;
  assert.equal(r.tok.chatTemplate, r.ref.chat_template);
  assert.ok(r.ref.chat.length >= 2);
  for (const c of r.ref.chat) {
    const opts = { addGenerationPrompt: true };
    assert.equal(r.tok.applyChatTemplate(c.messages, opts), c.text);
    assert.deepEqual(r.tok.encodeChat(c.messages, opts), c.ids);
  }
  const noGen = r.tok.applyChatTemplate(r.ref.chat[1].messages);
  assert.equal(noGen, r.ref.chat[1].text.replace(/<\|im_start\|>assistant\n$/, ''));
});

test('preference pairs: structure, and prompt + response ids equal the reference batch', (t) => {
  const r = loadReference(t);
  const tensorsPath = fixture(t, 'hf-tiny', 'reference', 'tiny-llama', 'reference.safetensors');
  const pairsPath = fixture(t, 'hf-tiny', 'pairs.jsonl');
  if (!r || !tensorsPath || !pairsPath) return;
  const { tok, ref } = r;

  assert.equal(ref.pairs.length, 2);
  const trl = readFileSync(pairsPath, 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] },
    );
  assert.equal(trl.length, ref.pairs.length);
  for (const [i, p] of ref.pairs.entries()) {
    assert.ok(Array.isArray(p.messages) && p.messages.length > 0);
    for (const m of p.messages) {
      assert.equal(typeof m.role, 'string');
      assert.equal(typeof m.content, 'string');
    }
    assert.equal(p.messages.at(-1)!.role, 'user');
    assert.equal(typeof p.chosen, 'string');
    assert.equal(typeof p.rejected, 'string');
    assert.deepEqual(trl[i].prompt, p.messages);
    assert.deepEqual(trl[i].chosen, [{ role: 'assistant', content: p.chosen }]);
    assert.deepEqual(trl[i].rejected, [{ role: 'assistant', content: p.rejected }]);
  }

  const tensors = readI64Tensors(tensorsPath);
  for (const side of ['chosen', 'rejected'] as const) {
    const inputIds = tensors.get(`${side}.input_ids`)!;
    const attention = tensors.get(`${side}.attention_mask`)!;
    const responseMask = tensors.get(`${side}.response_mask`)!;
    for (const [i, p] of ref.pairs.entries()) {
      const prompt = tok.encodeChat(p.messages, { addGenerationPrompt: true });
      const response = tok.encode(p[side] + '<|im_end|>');
      assert.equal(response.at(-1), 2, 'responses end with <|im_end|>');
      const n = prompt.length + response.length;
      assert.deepEqual(inputIds[i].slice(0, n), [...prompt, ...response], `${side} row ${i}`);
      assert.ok(attention[i].slice(0, n).every((v) => v === 1));
      assert.ok(
        attention[i].slice(n).every((v) => v === 0),
        `${side} row ${i} is right-padded`,
      );
      assert.ok(inputIds[i].slice(n).every((v) => v === tok.padTokenId));
      const expectedMask = attention[i].map((_, j) => (j >= prompt.length && j < n ? 1 : 0));
      assert.deepEqual(responseMask[i], expectedMask);
    }
  }
});

test('tiny-llama special tokens, vocab and token lookups', (t) => {
  const r = loadReference(t);
  if (!r) return;
  const { tok, ref } = r;
  assert.deepEqual(tok.eosTokenIds, [2]);
  assert.equal(tok.padTokenId, 0);
  assert.equal(tok.batchPadId, 0);
  assert.equal(tok.bosTokenId, undefined);
  assert.equal(tok.vocabSize, ref.tokenizer_vocab);
  assert.equal(tok.tokenToId('<|im_start|>'), 1);
  assert.equal(tok.idToToken(2), '<|im_end|>');
  assert.equal(tok.idToToken(3), '!');
  assert.equal(tok.tokenToId('no such token'), undefined);
  assert.equal(tok.idToToken(tok.vocabSize), undefined);
});

test('decode round-trips the reference texts and can skip special tokens', (t) => {
  const r = loadReference(t);
  if (!r) return;
  const { tok, ref } = r;
  for (const c of [...ref.encode, ...ref.chat]) assert.equal(tok.decode(c.ids), c.text);
  assert.equal(tok.decode([]), '');
  assert.equal(
    tok.decode(tok.encode('<|im_start|>user\nhi<|im_end|>'), { skipSpecialTokens: true }),
    'user\nhi',
  );
  // transformers 5 does not "clean up" spaces before punctuation unless the config asks for it.
  const spaced = "a , b . c ! it 's";
  assert.equal(tok.decode(tok.encode(spaced)), spaced);
});

test('StreamDecoder never emits half of a multi-byte character', (t) => {
  const r = loadReference(t);
  if (!r) return;
  const { tok } = r;
  const text = 'naïve café — 日本語 and emoji 🙂👍🏽 done';
  const ids = tok.encode(text);
  // The fixture tokenizer splits these characters over several byte tokens, which is the point.
  assert.ok(
    ids.some((id) => tok.decode([id]).includes('\uFFFD')),
    'some token holds part of a character',
  );
  const { chunks, tail } = streamChunks(tok, ids);
  assert.equal(chunks.join('') + tail, text);
  assert.equal(tail, '');
  assert.ok(chunks.filter((c) => c === '').length > 0, 'something was held back');
});

test('StreamDecoder holds an incomplete character until flush, and rejects a shrinking list', (t) => {
  const r = loadReference(t);
  if (!r) return;
  const { tok } = r;
  const ids = tok.encode('ok 日');
  const sd = new StreamDecoder(tok);
  let out = '';
  for (let i = 1; i < ids.length; i++) out += sd.update(ids.slice(0, i));
  assert.ok(!out.includes('\uFFFD'));
  assert.ok(tok.decode(ids.slice(0, -1)).endsWith('\uFFFD'), 'the last byte completes 日');
  assert.equal(out + sd.update(ids), 'ok 日');
  assert.equal(sd.flush(), '');

  // A sequence that stops mid-character: flush hands over what was held back, U+FFFD included.
  const cut = new StreamDecoder(tok);
  let streamed = '';
  for (let i = 1; i < ids.length; i++) streamed += cut.update(ids.slice(0, i));
  const held = cut.flush();
  assert.ok(held.endsWith('\uFFFD'));
  assert.equal(streamed + held, tok.decode(ids.slice(0, -1)));
  assert.equal(cut.flush(), '');
  throwsCode(() => cut.update(ids.slice(0, 1)), 'E_STREAM_DECODER', 'must only grow');
});

test('tiny-qwen2 loads its tokenizer folder', (t) => {
  const dir = fixture(t, 'hf-tiny', 'tiny-qwen2');
  const refPath = fixture(t, 'hf-tiny', 'reference', 'tokenizer.json');
  if (!dir || !refPath) return;
  const ref = readJson<Reference>(refPath);
  const tok = Tokenizer.fromDir(dir);
  assert.deepEqual(tok.eosTokenIds, [2]);
  assert.equal(tok.padTokenId, 0);
  for (const c of ref.encode) assert.deepEqual(tok.encode(c.text), c.ids);
  const c = ref.chat[0];
  assert.deepEqual(tok.encodeChat(c.messages, { addGenerationPrompt: true }), c.ids);
});

test('builtin tiny tokenizer: deterministic byte-level BPE with ChatML specials', () => {
  const a = builtinTinyTokenizerFiles();
  const b = builtinTinyTokenizerFiles();
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  const tj = a['tokenizer.json'] as {
    added_tokens: { id: number; content: string; special: boolean }[];
    model: { type: string; vocab: Record<string, number>; merges: [string, string][] };
    pre_tokenizer: { type: string };
    decoder: { type: string };
  };
  assert.deepEqual(
    tj.added_tokens.map((x) => [x.id, x.content, x.special]),
    [
      [0, '<|endoftext|>', true],
      [1, '<|im_start|>', true],
      [2, '<|im_end|>', true],
    ],
  );
  assert.equal(tj.model.type, 'BPE');
  assert.equal(tj.pre_tokenizer.type, 'ByteLevel');
  assert.equal(tj.decoder.type, 'ByteLevel');
  const vocabSize = Object.keys(tj.model.vocab).length;
  assert.ok(vocabSize >= 512 && vocabSize <= 1024, `vocab ${vocabSize}`);
  assert.ok(tj.model.merges.length >= 250);
  const ids = Object.values(tj.model.vocab).sort((x, y) => x - y);
  assert.deepEqual(
    ids,
    ids.map((_, i) => i),
    'ids are dense',
  );

  const tok = builtinTinyTokenizer();
  assert.equal(tok.vocabSize, vocabSize);
  assert.deepEqual(tok.eosTokenIds, [2]);
  assert.equal(tok.padTokenId, 0);
  assert.equal(tok.batchPadId, 0);
  assert.equal(tok.bosTokenId, undefined);
  // Merges learned from English text make common words shorter than their bytes.
  const english = 'The assistant should answer the question of the user.';
  assert.ok(tok.encode(english).length < english.length / 2);
});

test('builtin tiny tokenizer round-trips arbitrary unicode and streams it safely', () => {
  const tok = builtinTinyTokenizer();
  const texts = [
    '',
    'Hello, world!',
    '  leading spaces and\ttabs\nnew lines\r\n',
    'naïve café — ünïcödé ✓ 日本語 한국어 العربية עברית',
    'emoji 🙂👍🏽👨‍👩‍👧 and math 𝔘𝔫𝔦 ∑∫√ and control \u0000\u0007\u007f',
    "it 's a , b . c",
    'literal <|im_start|>user\nhi<|im_end|> specials',
  ];
  for (const text of texts) {
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text);
    const { chunks, tail } = streamChunks(tok, ids);
    assert.equal(chunks.join('') + tail, text);
  }
  assert.deepEqual(tok.encode('<|im_end|>'), [2]);
  // Non-ASCII text is split into byte tokens, so streaming above crossed character boundaries.
  assert.ok(tok.encode('日本語').some((id) => tok.decode([id]) === '\uFFFD'));
});

test('builtin tiny tokenizer chat encoding starts with <|im_start|> and survives disk', () => {
  const messages = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Why is the sky blue?' },
  ];
  const tok = builtinTinyTokenizer();
  const ids = tok.encodeChat(messages, { addGenerationPrompt: true });
  assert.equal(ids[0], 1);
  assert.deepEqual(ids.slice(-1), tok.encode('\n'));
  assert.equal(
    tok.applyChatTemplate(messages, { addGenerationPrompt: true }),
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
      '<|im_start|>user\nWhy is the sky blue?<|im_end|>\n<|im_start|>assistant\n',
  );
  withTmpDir((dir) => {
    const files = builtinTinyTokenizerFiles();
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files['tokenizer.json']));
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify(files['tokenizer_config.json']),
    );
    writeFileSync(join(dir, 'chat_template.jinja'), files['chat_template.jinja']);
    const fromDisk = Tokenizer.fromDir(dir);
    assert.deepEqual(fromDisk.encodeChat(messages, { addGenerationPrompt: true }), ids);
  });
});

test('builtin tiny chat template is the fixture template', (t) => {
  const path = fixture(t, 'hf-tiny', 'tiny-llama', 'chat_template.jinja');
  if (!path) return;
  assert.equal(builtinTinyTokenizerFiles()['chat_template.jinja'], readFileSync(path, 'utf8'));
});

test('tokenizer_config variants: template lists, AddedToken objects, generation eos lists', () => {
  const files = builtinTinyTokenizerFiles();
  const tok = Tokenizer.fromObjects(
    files['tokenizer.json'],
    {
      bos_token: { __type: 'AddedToken', content: '<|im_start|>' },
      eos_token: '<|endoftext|>',
      pad_token: null,
      chat_template: [
        { name: 'tool_use', template: 'TOOLS' },
        {
          name: 'default',
          template:
            '{{ bos_token }}|{{ eos_token }}|{{ pad_token }}|{{ add_generation_prompt }}|{{ flavour }}',
        },
      ],
    },
    undefined,
    { eos_token_id: [2, 0, 2] },
  );
  assert.equal(tok.bosTokenId, 1);
  assert.equal(tok.padTokenId, undefined);
  assert.deepEqual(tok.eosTokenIds, [0, 2]);
  assert.equal(tok.batchPadId, 0, 'without a pad token, batches pad with the first eos');
  assert.equal(
    tok.applyChatTemplate([], { addGenerationPrompt: true, templateKwargs: { flavour: 'x' } }),
    '<|im_start|>|<|endoftext|>||true|x',
  );

  const plain = Tokenizer.fromObjects(files['tokenizer.json'], {
    chat_template: 'T{{ messages | length }}',
  });
  assert.equal(plain.applyChatTemplate([{ role: 'user', content: 'a' }]), 'T1');
  assert.deepEqual(plain.eosTokenIds, []);
  assert.equal(plain.batchPadId, 0, 'with neither pad nor eos, batches pad with id 0');
  const eosOnly = Tokenizer.fromObjects(files['tokenizer.json'], {}, undefined, {
    eos_token_id: 2,
  });
  assert.deepEqual(eosOnly.eosTokenIds, [2]);
  assert.equal(eosOnly.padTokenId, undefined);
  assert.equal(eosOnly.batchPadId, 2);
});

test('missing and corrupt files are clear errors naming the file', () => {
  withTmpDir((dir) => {
    throwsCode(() => Tokenizer.fromDir(dir), 'E_TOKENIZER_MISSING', join(dir, 'tokenizer.json'));

    writeFileSync(join(dir, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": {');
    throwsCode(() => Tokenizer.fromDir(dir), 'E_TOKENIZER_INVALID', join(dir, 'tokenizer.json'));

    writeFileSync(join(dir, 'tokenizer.json'), '{"version": "1.0"}');
    throwsCode(() => Tokenizer.fromDir(dir), 'E_TOKENIZER_INVALID', /has no "model"/);

    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'Mystery' } }));
    throwsCode(() => Tokenizer.fromDir(dir), 'E_TOKENIZER_INVALID', /Mystery/);

    const files = builtinTinyTokenizerFiles();
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files['tokenizer.json']));
    writeFileSync(join(dir, 'tokenizer_config.json'), 'not json');
    throwsCode(
      () => Tokenizer.fromDir(dir),
      'E_TOKENIZER_INVALID',
      join(dir, 'tokenizer_config.json'),
    );

    writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
    writeFileSync(join(dir, 'generation_config.json'), '{"eos_token_id": "two"}');
    throwsCode(
      () => Tokenizer.fromDir(dir),
      'E_TOKENIZER_INVALID',
      join(dir, 'generation_config.json'),
    );

    writeFileSync(join(dir, 'generation_config.json'), '{"eos_token_id": 2}');
    const noTemplate = Tokenizer.fromDir(dir);
    assert.equal(noTemplate.chatTemplate, undefined);
    throwsCode(
      () => noTemplate.applyChatTemplate([]),
      'E_CHAT_TEMPLATE',
      join(dir, 'tokenizer_config.json'),
    );
    throwsCode(() => noTemplate.decode([1, 100000]), 'E_TOKENIZER_DECODE', /100000/);

    const templatePath = join(dir, 'chat_template.jinja');
    writeFileSync(
      templatePath,
      "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok",
    );
    const strict = Tokenizer.fromDir(dir);
    assert.equal(strict.applyChatTemplate([{ role: 'user', content: 'x' }]), 'ok');
    throwsCode(
      () => strict.applyChatTemplate([{ role: 'system', content: 'x' }]),
      'E_CHAT_TEMPLATE',
      /chat_template\.jinja failed to render: first message must be from the user/,
    );

    writeFileSync(templatePath, '{% for m in %}');
    const broken = Tokenizer.fromDir(dir);
    throwsCode(() => broken.encodeChat([]), 'E_CHAT_TEMPLATE', templatePath);
  });
});
