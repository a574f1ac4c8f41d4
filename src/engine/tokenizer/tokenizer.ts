// The tokenizer of a Hugging Face checkpoint: tokenizer.json (through @huggingface/tokenizers),
// the special tokens of tokenizer_config.json and generation_config.json, and the Jinja chat
// template (through @huggingface/jinja), rendered with the same variables transformers passes.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { fail } from '../../core/errors.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. `enable_thinking`), like transformers' `**kwargs`. */
  templateKwargs?: Record<string, unknown>;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

type JsonObject = Record<string, unknown>;

// The package's .d.ts files use extension-less relative imports, which NodeNext resolution cannot
// follow, so its Tokenizer type collapses to `any`; this is the part of types/core/Tokenizer.d.ts
// (0.2.0) used here.
interface HfTokenizerApi {
  encode(
    text: string,
    options?: { add_special_tokens?: boolean },
  ): { ids: number[]; tokens: string[] };
  decode(
    ids: number[],
    options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean | null },
  ): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
}

/** Where each part came from, for error messages: file paths, or a description for objects. */
interface Sources {
  tokenizerJson: string;
  tokenizerConfig: string;
  chatTemplate: string;
  generationConfig: string;
}

const OBJECT_SOURCES: Sources = {
  tokenizerJson: 'tokenizer.json (passed as an object)',
  tokenizerConfig: 'tokenizer_config.json (passed as an object)',
  chatTemplate: 'chat template (passed as a string)',
  generationConfig: 'generation_config.json (passed as an object)',
};

const SPECIAL_TOKEN_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readJson(path: string, required: boolean): JsonObject | undefined {
  if (!existsSync(path)) {
    if (!required) return undefined;
    fail(
      'E_TOKENIZER_MISSING',
      `tokenizer file not found: ${path}`,
      'a Hugging Face model folder needs tokenizer.json (the "fast" tokenizer format); ' +
        'download the full checkpoint, or convert a slow tokenizer with transformers ' +
        '(AutoTokenizer.from_pretrained(...).save_pretrained(dir))',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(
      'E_TOKENIZER_INVALID',
      `${path} is not valid JSON: ${(e as Error).message}`,
      'the file is probably truncated or corrupt; download it again',
      e,
    );
  }
  if (!isObject(parsed))
    fail(
      'E_TOKENIZER_INVALID',
      `${path} must hold a JSON object`,
      'the file is probably corrupt; download it again',
    );
  return parsed;
}

/** tokenizer_config.json writes a token as a string or as a serialized AddedToken object. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

/** transformers accepts a string, or a list of {name, template} from which it uses 'default'. */
function templateFromConfig(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const d = v.find((t) => isObject(t) && t.name === 'default');
    return isObject(d) && typeof d.template === 'string' ? d.template : undefined;
  }
  if (isObject(v) && typeof v.default === 'string') return v.default;
  return undefined;
}

function maxVocabId(tokenizerJson: JsonObject): number {
  let max = -1;
  const model = tokenizerJson.model;
  if (isObject(model)) {
    const vocab = model.vocab;
    if (Array.isArray(vocab)) max = vocab.length - 1;
    else if (isObject(vocab))
      for (const id of Object.values(vocab)) if (typeof id === 'number' && id > max) max = id;
  }
  const added = tokenizerJson.added_tokens;
  if (Array.isArray(added))
    for (const t of added) if (isObject(t) && typeof t.id === 'number' && t.id > max) max = t.id;
  return max;
}

/**
 * tokenizer.json and tokenizer_config.json checked and shaped the way the tokenizer library
 * reads them.
 */
function libraryInputs(
  tokenizerJson: object,
  tokenizerConfig: object,
  sources: Sources,
): { tj: JsonObject; tc: JsonObject } {
  if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model))
    fail(
      'E_TOKENIZER_INVALID',
      `${sources.tokenizerJson} has no "model" object; it is not a Hugging Face tokenizer.json`,
      'use the tokenizer.json that `tokenizers` / transformers save next to the model weights',
    );
  if (!isObject(tokenizerConfig))
    fail(
      'E_TOKENIZER_INVALID',
      `${sources.tokenizerConfig} must be a JSON object`,
      'the file is probably corrupt; download it again',
    );

  // The library insists on these keys being present, while tokenizers itself treats them as optional.
  const tj: JsonObject = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...tokenizerJson,
    added_tokens: Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [],
  };
  // The library reads special tokens as plain strings; configs may hold AddedToken objects.
  const tc: JsonObject = { ...tokenizerConfig };
  for (const key of SPECIAL_TOKEN_KEYS) {
    const s = tokenContent(tokenizerConfig[key]);
    if (s === undefined) delete tc[key];
    else tc[key] = s;
  }
  if (Array.isArray(tokenizerConfig.additional_special_tokens))
    tc.additional_special_tokens = tokenizerConfig.additional_special_tokens
      .map(tokenContent)
      .filter((s): s is string => s !== undefined);
  return { tj, tc };
}

/** End-of-sequence ids: the config's eos token, then generation_config's eos_token_id(s). */
function eosIds(
  cfgEos: number | undefined,
  generationConfig: object | undefined,
  sources: Sources,
): number[] {
  const eos: number[] = [];
  if (cfgEos !== undefined) eos.push(cfgEos);
  if (generationConfig !== undefined) {
    if (!isObject(generationConfig))
      fail(
        'E_TOKENIZER_INVALID',
        `${sources.generationConfig} must be a JSON object`,
        'the file is probably corrupt; download it again',
      );
    const g = generationConfig.eos_token_id;
    const list = g === undefined || g === null ? [] : Array.isArray(g) ? g : [g];
    for (const id of list) {
      if (!Number.isInteger(id) || (id as number) < 0)
        fail(
          'E_TOKENIZER_INVALID',
          `${sources.generationConfig}: eos_token_id must be a token id or a list of ids, got ${JSON.stringify(g)}`,
          'fix eos_token_id in generation_config.json',
        );
      if (!eos.includes(id as number)) eos.push(id as number);
    }
  }
  return eos;
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenIds: number[];
  readonly padTokenId: number | undefined;
  /**
   * The id that fills padded batch positions: pad_token, else the first eos, else 0. Padding is
   * masked out, so any id works; checkpoints without a pad token (Llama 3) get a real one.
   */
  readonly batchPadId: number;
  readonly bosTokenId: number | undefined;
  /** The Jinja source of the chat template, if the checkpoint has one. */
  readonly chatTemplate: string | undefined;

  private readonly hf: HfTokenizerApi;
  private readonly sources: Sources;
  private readonly specialTokensMap: Record<string, unknown>;
  private readonly cleanUpSpaces: boolean;
  private compiledTemplate: Template | undefined;

  private constructor(
    tokenizerJson: object,
    tokenizerConfig: object,
    chatTemplate: string | undefined,
    generationConfig: object | undefined,
    sources: Sources,
  ) {
    this.sources = sources;
    const { tj, tc } = libraryInputs(tokenizerJson, tokenizerConfig, sources);
    const config = tokenizerConfig as JsonObject; // an object: libraryInputs checked it

    try {
      this.hf = new HfTokenizer(tj, tc) as HfTokenizerApi;
    } catch (e) {
      fail(
        'E_TOKENIZER_INVALID',
        `cannot load ${sources.tokenizerJson}: ${(e as Error).message}`,
        'the tokenizer uses a component this loader does not support, or the file is corrupt',
        e,
      );
    }

    this.vocabSize = maxVocabId(tj) + 1;
    // transformers 5 defaults this to false; the library defaults to true, which breaks round trips.
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;

    this.specialTokensMap = {};
    for (const key of SPECIAL_TOKEN_KEYS)
      if (typeof tc[key] === 'string') this.specialTokensMap[key] = tc[key];
    if (Array.isArray(tc.additional_special_tokens))
      this.specialTokensMap.additional_special_tokens = tc.additional_special_tokens;

    const idOf = (key: string): number | undefined => {
      const s = tc[key];
      return typeof s === 'string' ? this.hf.token_to_id(s) : undefined;
    };
    this.bosTokenId = idOf('bos_token');
    this.padTokenId = idOf('pad_token');

    const eos = eosIds(idOf('eos_token'), generationConfig, sources);
    this.eosTokenIds = eos;
    this.batchPadId = this.padTokenId ?? eos[0] ?? 0;

    this.chatTemplate = chatTemplate ?? templateFromConfig(config.chat_template);
  }

  /**
   * Loads tokenizer.json, and when present tokenizer_config.json, chat_template.jinja (preferred
   * over tokenizer_config.json's chat_template, as in transformers 5) and generation_config.json.
   */
  static fromDir(dir: string): Tokenizer {
    const paths = {
      tokenizerJson: join(dir, 'tokenizer.json'),
      tokenizerConfig: join(dir, 'tokenizer_config.json'),
      chatTemplate: join(dir, 'chat_template.jinja'),
      generationConfig: join(dir, 'generation_config.json'),
    };
    const tokenizerJson = readJson(paths.tokenizerJson, true)!;
    const tokenizerConfig = readJson(paths.tokenizerConfig, false) ?? {};
    const generationConfig = readJson(paths.generationConfig, false);
    let chatTemplate: string | undefined;
    let templateSource = `${paths.tokenizerConfig} (chat_template)`;
    if (existsSync(paths.chatTemplate)) {
      chatTemplate = readFileSync(paths.chatTemplate, 'utf8');
      templateSource = paths.chatTemplate;
    }
    return new Tokenizer(tokenizerJson, tokenizerConfig, chatTemplate, generationConfig, {
      ...paths,
      chatTemplate: templateSource,
    });
  }

  static fromObjects(
    tokenizerJson: object,
    tokenizerConfig: object,
    chatTemplate?: string,
    generationConfig?: object,
  ): Tokenizer {
    return new Tokenizer(tokenizerJson, tokenizerConfig, chatTemplate, generationConfig, {
      ...OBJECT_SOURCES,
      chatTemplate:
        chatTemplate === undefined
          ? `${OBJECT_SOURCES.tokenizerConfig} chat_template`
          : OBJECT_SOURCES.chatTemplate,
    });
  }

  /**
   * Token ids of `text`; literal special-token text maps to its id. No special tokens are added
   * unless `addSpecialTokens` (transformers' `tokenizer(text)` default: the post-processor's BOS
   * and the like), which TRL uses for plain-text reward-model rows.
   */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const { ids, tokens } = this.hf.encode(text, {
      add_special_tokens: opts.addSpecialTokens ?? false,
    });
    const bad = ids.findIndex((id) => id === undefined);
    if (bad >= 0)
      fail(
        'E_TOKENIZER_ENCODE',
        `cannot encode ${JSON.stringify(tokens[bad])}: it is not in the vocabulary of ${this.sources.tokenizerJson}, which has no unk_token`,
        'the tokenizer cannot represent this text; use a byte-level tokenizer or one with an unk_token',
      );
    return ids;
  }

  decode(ids: number[], opts: DecodeOptions = {}): string {
    // The library throws on an empty list and decodes unknown ids to nothing; be strict instead.
    if (ids.length === 0) return '';
    for (const id of ids)
      if (!Number.isInteger(id) || this.hf.id_to_token(id) === undefined)
        fail(
          'E_TOKENIZER_DECODE',
          `token id ${id} is not in the vocabulary of ${this.sources.tokenizerJson} (size ${this.vocabSize})`,
          'the model produced an id the tokenizer does not know: check that the model and tokenizer belong together',
        );
    return this.hf.decode(ids, {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  /** The chat rendered to text, with the variables transformers' apply_chat_template passes. */
  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
    const template = this.template();
    try {
      return template.render({
        ...this.specialTokensMap,
        messages: messages.map((m) => ({ ...m })),
        tools: null,
        documents: null,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
        ...opts.templateKwargs,
      });
    } catch (e) {
      fail(
        'E_CHAT_TEMPLATE',
        `the chat template in ${this.sources.chatTemplate} failed to render: ${(e as Error).message}`,
        'check the messages (roles and their order) against what the template expects, or fix the template',
        e,
      );
    }
  }

  encodeChat(messages: ChatMessage[], opts: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, opts));
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  // Parsed on first use so that a template the Jinja engine cannot parse only matters for chat use.
  private template(): Template {
    if (this.compiledTemplate) return this.compiledTemplate;
    if (this.chatTemplate === undefined)
      fail(
        'E_CHAT_TEMPLATE',
        `no chat template: ${this.sources.chatTemplate} does not exist or has none`,
        'add a chat_template.jinja to the model folder (or chat_template to tokenizer_config.json), ' +
          'or use a chat (instruct) checkpoint',
      );
    try {
      this.compiledTemplate = new Template(this.chatTemplate);
    } catch (e) {
      fail(
        'E_CHAT_TEMPLATE',
        `cannot parse the chat template in ${this.sources.chatTemplate}: ${(e as Error).message}`,
        'fix the Jinja syntax of the template',
        e,
      );
    }
    return this.compiledTemplate;
  }
}

/**
 * Incremental detokenization for streaming: text is released only once it can no longer change,
 * so a multi-byte character split across tokens is never emitted half-way (it decodes to U+FFFD
 * until its last byte arrives). Decoding a short window that starts one emission back keeps the
 * cost per token constant and gives tokenizers that treat a leading space specially their context.
 */
export class StreamDecoder {
  private ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly opts: DecodeOptions = {},
  ) {}

  /** `ids` = every id generated so far (it only grows); returns the text that became final. */
  update(ids: readonly number[]): string {
    if (ids.length < this.ids.length)
      fail(
        'E_STREAM_DECODER',
        `StreamDecoder.update got ${ids.length} ids after ${this.ids.length}: the list must only grow`,
        'create a new StreamDecoder for each sequence',
      );
    for (let i = this.ids.length; i < ids.length; i++) this.ids.push(ids[i]);
    const prefix = this.tokenizer.decode(
      this.ids.slice(this.prefixOffset, this.readOffset),
      this.opts,
    );
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset), this.opts);
    if (full.length > prefix.length && !full.endsWith('\uFFFD')) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return full.slice(prefix.length);
    }
    return '';
  }

  /** At the end of a sequence: whatever is still held back, even an incomplete character. */
  flush(): string {
    const prefix = this.tokenizer.decode(
      this.ids.slice(this.prefixOffset, this.readOffset),
      this.opts,
    );
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset), this.opts);
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }
}
