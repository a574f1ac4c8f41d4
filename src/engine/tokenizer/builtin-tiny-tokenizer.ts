// The tokenizer of the embedded default model ("builtin:tiny"), made by code so that nothing is
// downloaded: a byte-level BPE in the same on-disk format as SmolLM2/Qwen tokenizers (and the
// hf-tiny fixtures), with merges learned by plain BPE training over a small embedded English text.
// Training is deterministic (ties broken by the pair's strings), so every call yields identical files.

import { Tokenizer } from './tokenizer.js';

export interface BuiltinTinyTokenizerFiles {
  'tokenizer.json': object;
  'tokenizer_config.json': object;
  'chat_template.jinja': string;
}

const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

/** Vocabulary size to train up to (3 specials + 256 bytes + merges); training may stop earlier. */
const TARGET_VOCAB = 640;

// Identical to the hf-tiny fixtures' ChatML template (no trailing newline, like the file).
const CHAT_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const CORPUS = `
You are a helpful assistant. When a user asks a question, read it carefully, think about what they
need, and answer clearly and honestly. If you do not know the answer, say so instead of guessing.
A good answer is short when the question is simple and detailed when the question is hard. It
explains the reasons behind a claim, gives an example where one helps, and avoids repeating itself.

The sky looks blue because sunlight is scattered by the molecules of the air, and blue light is
scattered much more than red light. At sunset the light travels through more of the atmosphere, so
most of the blue is scattered away and the sky near the sun turns orange and red.

Water boils at one hundred degrees Celsius at sea level. On a high mountain the air pressure is
lower, so water boils at a lower temperature and food takes longer to cook. People have known this
for a long time, and they still use pressure cookers to make cooking faster.

Please write a short story about a small robot who wants to learn how to paint. The robot lives in
a quiet town by the sea. Every morning it watches the light change over the water, and every evening
it tries to paint what it saw. At first the paintings are strange, but with time they become better.

Here are three things to remember when you write code: keep functions small, give things names that
say what they are for, and write tests that show the code works. A program that is easy to read is
easy to change. When something breaks, read the error message first, because it often says where
the problem is and how to fix it.

I cannot help with that request, because it could hurt someone. However, I would be happy to help
you with something else. Is there anything you would like to know about science, history, language,
cooking, travel, health, music, or the world around us?

Thank you for your question! The answer is yes, but there are a few important details. First, the
result depends on the data you use. Second, you should check the numbers twice. Finally, it is
always a good idea to ask someone else to review your work before you share it with other people.

The system message tells the assistant how to behave, the user message asks for something, and the
assistant message is the reply. A conversation can have many turns: the user asks, the assistant
answers, and then the user asks a new question that follows from the last answer. The assistant
should remember what was said earlier in the conversation and stay consistent with it.

In the spring the farmers plant seeds in the fields, and in the summer the plants grow tall under
the warm sun. In the autumn they bring in the harvest, and in the winter the land rests under the
snow. Children in the village help their parents, and in the evenings the families share a meal
and talk about the day. Many of the old stories they tell are about the river, the forest, and the
animals that live there.

Numbers can be written in many ways: 1, 2, 3, 10, 42, 100, 2024, or 3.14. To add two numbers, line
up their digits and carry when a column is larger than nine. To multiply, add one number to itself
as many times as the other number says. Mathematics is the study of patterns, and it helps us
understand everything from the motion of the planets to the growth of a population.

Learning a new language takes patience. Start with the most common words and phrases, listen to
people who speak it well, and practice a little every day. Do not worry about making mistakes,
because every mistake teaches you something. After a few months you will understand much more than
you expect, and after a year you may be able to read a book or follow a film without subtitles.

Question: What is the capital of France? Answer: The capital of France is Paris.
Question: How many days are there in a week? Answer: There are seven days in a week.
Question: Which planet is closest to the sun? Answer: Mercury is the planet closest to the sun.
`;

function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const map: string[] = new Array(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  return map;
}

// The GPT-2 split used by the ByteLevel pre-tokenizer; merges never cross these boundaries.
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

interface Trained {
  vocab: Record<string, number>;
  merges: [string, string][];
}

function train(): Trained {
  const byteChar = bytesToUnicode();
  const vocab: Record<string, number> = {};
  let next = 0;
  const add = (tok: string) => {
    if (!(tok in vocab)) vocab[tok] = next++;
  };
  SPECIAL_TOKENS.forEach(add);
  // Sorted like the alphabet of the tokenizers trainer, so printable ASCII comes first.
  [...byteChar].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!).forEach(add);

  const counts = new Map<string, number>();
  const encoder = new TextEncoder();
  for (const piece of CORPUS.trim().match(GPT2_SPLIT) ?? []) {
    const w = Array.from(encoder.encode(piece), (b) => byteChar[b]).join('');
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const words = [...counts].map(([w, count]) => ({ symbols: Array.from(w), count }));

  const merges: [string, string][] = [];
  while (next < TARGET_VOCAB) {
    const pairCounts = new Map<string, number>();
    for (const { symbols, count } of words)
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i] + '\u0000' + symbols[i + 1];
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    let best: string | undefined;
    let bestCount = 1;
    for (const [key, c] of pairCounts)
      if (c > bestCount || (c === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = c;
      }
    if (best === undefined) break; // every remaining pair occurs once: nothing worth merging
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    add(a + b);
    for (const w of words) {
      const s = w.symbols;
      const out: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(s[i]);
      }
      w.symbols = out;
    }
  }
  return { vocab, merges };
}

let trained: Trained | undefined;

/** The files of the builtin:tiny tokenizer; a fresh copy on every call. */
export function builtinTinyTokenizerFiles(): BuiltinTinyTokenizerFiles {
  trained ??= train();
  const addedToken = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    'tokenizer.json': {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL_TOKENS.map(addedToken),
      normalizer: null,
      pre_tokenizer: {
        type: 'ByteLevel',
        add_prefix_space: false,
        trim_offsets: true,
        use_regex: true,
      },
      post_processor: {
        type: 'ByteLevel',
        add_prefix_space: true,
        trim_offsets: false,
        use_regex: true,
      },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: { ...trained.vocab },
        merges: trained.merges.map(([a, b]) => [a, b]),
      },
    },
    'tokenizer_config.json': {
      add_prefix_space: false,
      bos_token: null,
      clean_up_tokenization_spaces: false,
      eos_token: '<|im_end|>',
      pad_token: '<|endoftext|>',
      tokenizer_class: 'PreTrainedTokenizerFast',
      unk_token: null,
    },
    'chat_template.jinja': CHAT_TEMPLATE,
  };
}

/** The builtin:tiny tokenizer, loaded. */
export function builtinTinyTokenizer(): Tokenizer {
  const f = builtinTinyTokenizerFiles();
  return Tokenizer.fromObjects(
    f['tokenizer.json'],
    f['tokenizer_config.json'],
    f['chat_template.jinja'],
  );
}
