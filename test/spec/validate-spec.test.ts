import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';
import { readPipelineFile } from '../../src/spec/read-file.js';
import {
  editDistance,
  PipelineValidationError,
  suggest,
  validatePipeline,
  type ValidateOptions,
} from '../../src/spec/validate/index.js';
import { locate } from '../../src/spec/yaml-locate.js';

// Files a full pipeline refers to, relative to the pipeline file.
const PROJECT_FILES = [
  'prompts/seed.jsonl',
  'prompts/probes.jsonl',
  'prompts/refusal-phrases.txt',
  'rubrics/additive-5pt.hbs',
  'rubrics/critique.hbs',
  'rubrics/revision.hbs',
  'rubrics/self-instruct.hbs',
  'constitutions/helpful-harmless.md',
  'models/anchor/config.json',
];

const FULL = `name: self-reward
seed: 1234
model: { path: builtin:tiny, device: cpu, threads: 2 }
rounds: 3
reference: initial
prompts: { file: prompts/seed.jsonl, per_round: 64, self_instruct: { count: 8, rubric: rubrics/self-instruct.hbs } }
judges:
  anchor: { kind: model, path: models/anchor, concurrency: 1 }
  server: { kind: openai, base_url: 'http://127.0.0.1:8000/v1', model: judge }
  rules:
    kind: rule
    rules:
      - { kind: length, min: 20, max: 400, weight: 1 }
      - { kind: regex, pattern: '^\\w', must: true }
      - { kind: json_valid }
      - { kind: banned_phrases, file: prompts/refusal-phrases.txt }
stages:
  - { kind: generate, candidates: 4, temperature: 0.7, top_p: 0.9, top_k: 0, max_new_tokens: 256, stop: ['</s>'] }
  - kind: critique
    constitution: constitutions/helpful-harmless.md
    critique_rubric: rubrics/critique.hbs
    revision_rubric: rubrics/revision.hbs
  - { kind: judge, judge: self, rubric: rubrics/additive-5pt.hbs, constitution: constitutions/helpful-harmless.md, mode: generate, samples: 3 }
  - { kind: judge, judges: [anchor, rules], rubric: rubrics/additive-5pt.hbs, mode: logprobs }
  - { kind: pair, strategy: max-min, min_margin: 0.5, length_control: 0.0 }
  - { kind: train, loss: [sigmoid, sft], loss_weights: [1, 0.2], beta: 0.1, learning_rate: 5.0e-6, epochs: 1, batch_size: 8, lora: { r: 16, alpha: 32 } }
  - kind: evaluate
    probes: prompts/probes.jsonl
    judge: anchor
    refusal_phrases: prompts/refusal-phrases.txt
    gates: [ { metric: mean_score, op: '<', value: 2 } ]
`;

/** A fresh project folder with the referenced files (empty) and `pipeline.yaml`. */
function project(yaml: string, files: readonly string[] = PROJECT_FILES): string {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-pipeline-'));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  return file;
}

function validate(yaml: string, opts: ValidateOptions = { checkFiles: true }, files?: string[]) {
  const file = project(yaml, files);
  return { file, ...validatePipeline(readPipelineFile(file), opts) };
}

/** The problem lines of a failing validation. */
function problems(yaml: string, opts: ValidateOptions = { checkFiles: true }, files?: string[]) {
  const file = project(yaml, files);
  try {
    validatePipeline(readPipelineFile(file), opts);
  } catch (e) {
    assert.ok(e instanceof PipelineValidationError, String(e));
    assert.equal(e.code, 'E_PIPELINE_INVALID');
    assert.ok(isPipelineError(e));
    const lines = e.problems.map((p) => `${file}:${p.line}:${p.col}: ${p.message}`);
    return { file, lines, error: e, text: lines.join('\n') };
  }
  assert.fail('expected the pipeline to be invalid');
}

/** `line:col` (1-based) of the n-th occurrence of `needle` in `text`. */
function at(text: string, needle: string, nth = 0): string {
  let idx = -1;
  for (let i = 0; i <= nth; i++) {
    idx = text.indexOf(needle, idx + 1);
    assert.ok(idx >= 0, `'${needle}' not in the YAML`);
  }
  const before = text.slice(0, idx).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

const MINIMAL = `name: tiny
model: { path: builtin:tiny }
prompts: { file: prompts/seed.jsonl }
stages:
  - kind: generate
`;

function assertProblem(r: { file: string; lines: string[] }, pos: string, re: RegExp): void {
  const hit = r.lines.find((l) => l.startsWith(`${r.file}:${pos}: `) && re.test(l));
  assert.ok(hit, `no problem at ${pos} matching ${re}; got:\n${r.lines.join('\n')}`);
}

describe('valid pipelines', () => {
  test('the full example passes and gets its defaults', () => {
    const { spec, baseDir, file } = validate(FULL);
    assert.equal(baseDir, dirname(file));
    assert.equal(spec.name, 'self-reward');
    assert.equal(spec.seed, 1234);
    assert.equal(spec.rounds, 3);
    assert.equal(spec.reference, 'initial');
    assert.deepEqual(spec.model, {
      path: 'builtin:tiny',
      device: 'cpu',
      threads: 2,
      backend: 'engine',
    });
    assert.deepEqual(spec.prompts.self_instruct, {
      count: 8,
      rubric: 'rubrics/self-instruct.hbs',
      temperature: 1,
      max_new_tokens: 256,
    });
    assert.equal(spec.stages.length, 7);
    const [gen, crit, judgeSelf, judgeTwo, pair, train, evaluate] = spec.stages;
    assert.equal(gen.kind, 'generate');
    assert.deepEqual(gen.kind === 'generate' && gen.stop, ['</s>']);
    assert.equal(crit.kind === 'critique' && crit.temperature, 0.7);
    // `judge: self` is shorthand for `judges: [self]`; the output only has `judges`.
    assert.ok(judgeSelf.kind === 'judge');
    assert.deepEqual(judgeSelf.judges, ['self']);
    assert.equal('judge' in judgeSelf, false);
    assert.equal(judgeSelf.combine, 'mean');
    assert.ok(judgeTwo.kind === 'judge');
    assert.deepEqual(judgeTwo.judges, ['anchor', 'rules']);
    assert.equal(judgeTwo.mode, 'logprobs');
    assert.ok(pair.kind === 'pair');
    assert.equal(pair.soft_labels, false);
    assert.ok(train.kind === 'train');
    assert.deepEqual(train.loss, ['sigmoid', 'sft']);
    assert.deepEqual(train.lora, {
      r: 16,
      alpha: 32,
      dropout: 0,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
    });
    assert.equal(train.lr_scheduler_type, 'linear');
    assert.equal(train.max_grad_norm, 1);
    assert.equal(train.full, false);
    assert.ok(evaluate.kind === 'evaluate');
    assert.deepEqual(evaluate.gates, [
      { metric: 'mean_score', op: '<', value: 2, action: 'stop', from_round: 1 },
    ]);
    assert.equal(evaluate.temperature, 0);
    const rules = spec.judges.rules;
    assert.ok(rules.kind === 'rule');
    assert.deepEqual(rules.rules[1], {
      kind: 'regex',
      pattern: '^\\w',
      flags: '',
      must: true,
      weight: 1,
    });
    assert.equal(spec.judges.server.kind === 'openai' && spec.judges.server.concurrency, 8);
  });

  test('a minimal pipeline gets every default', () => {
    const { spec } = validate(MINIMAL);
    assert.equal(spec.seed, 0);
    assert.equal(spec.rounds, 1);
    assert.equal(spec.reference, 'round-start');
    assert.deepEqual(spec.judges, {});
    assert.deepEqual(spec.model, { path: 'builtin:tiny', device: 'cpu', backend: 'engine' });
    assert.deepEqual(spec.stages[0], {
      kind: 'generate',
      candidates: 4,
      temperature: 0.7,
      top_p: 0.9,
      top_k: 0,
      max_new_tokens: 256,
    });
  });

  test('loss given as one name becomes a one-element list; judges default to self', () => {
    const { spec } = validate(
      MINIMAL +
        '  - { kind: judge, rubric: rubrics/additive-5pt.hbs }\n' +
        '  - { kind: pair }\n  - { kind: train, loss: ipo }\n',
    );
    const [, judge, , train] = spec.stages;
    assert.deepEqual(judge.kind === 'judge' && judge.judges, ['self']);
    assert.deepEqual(train.kind === 'train' && train.loss, ['ipo']);
  });

  test('an evaluate stage may stand alone', () => {
    const yaml = MINIMAL.replace(
      '  - kind: generate\n',
      '  - { kind: evaluate, probes: prompts/probes.jsonl, judge: self, rubric: rubrics/additive-5pt.hbs }\n',
    );
    assert.equal(validate(yaml).spec.stages[0].kind, 'evaluate');
  });
});

describe('schema problems', () => {
  test('an unknown key points at the key and suggests the closest one', () => {
    const yaml = MINIMAL.replace(
      '  - kind: generate\n',
      '  - kind: generate\n    temprature: 0.5\n',
    );
    const r = problems(yaml);
    assert.equal(r.lines.length, 1);
    assert.equal(
      r.lines[0],
      `${r.file}:${at(yaml, 'temprature')}: unknown key 'temprature' in the generate stage at stages[0] (did you mean 'temperature'?)`,
    );
    // The single problem is the whole message, ready for `error: ` in front of it.
    assert.equal(r.error.message, r.lines[0]);
  });

  test('an unknown key with no close match lists the keys allowed there', () => {
    const yaml = MINIMAL.replace('name: tiny\n', 'name: tiny\nfoo: 1\n');
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, 'foo'),
      /unknown key 'foo' in the top level \(expected one of: name, description, seed, model,/,
    );
  });

  test('a setting written on the wrong stage says which stages have it', () => {
    const yaml = MINIMAL.replace('  - kind: generate\n', '  - { kind: generate, samples: 3 }\n');
    assertProblem(
      problems(yaml),
      at(yaml, 'samples'),
      /unknown key 'samples' in the generate stage at stages\[0\] \(it is a setting of judge stages; expected one of: kind, candidates,/,
    );
  });

  test('a wrong type says what it got and what was expected', () => {
    const yaml = MINIMAL.replace(
      '  - kind: generate\n',
      "  - { kind: generate, temperature: 'hot' }\n",
    );
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, "'hot'"),
      /wrong type for stages\[0\]\.temperature: got the string 'hot' \(expected a number >= 0\)$/,
    );
  });

  test('out-of-range numbers state the allowed range', () => {
    const yaml = MINIMAL.replace(
      '  - kind: generate\n',
      '  - { kind: generate, top_p: 0, candidates: 0, top_k: 1.5 }\n' +
        '  - { kind: judge, rubric: rubrics/additive-5pt.hbs, temperature: -0.5 }\n' +
        '  - { kind: pair, length_control: 2 }\n',
    );
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, '0,'),
      /stages\[0\]\.top_p is 0, out of range \(expected a number > 0 and <= 1\)$/,
    );
    assertProblem(
      r,
      at(yaml, '0, top_k'),
      /stages\[0\]\.candidates is 0, out of range \(expected an integer >= 1\)$/,
    );
    assertProblem(
      r,
      at(yaml, '1.5'),
      /wrong type for stages\[0\]\.top_k: got number 1\.5 \(expected an integer >= 0\)$/,
    );
    assertProblem(
      r,
      at(yaml, '-0.5'),
      /stages\[1\]\.temperature is -0.5, out of range \(expected a number >= 0\)$/,
    );
    assertProblem(
      r,
      at(yaml, '2 }'),
      /stages\[2\]\.length_control is 2, out of range \(expected a number from 0 to 1\)$/,
    );
  });

  test('a missing required key points at the mapping that should hold it', () => {
    const yaml = MINIMAL.replace(
      '  - kind: generate\n',
      '  - kind: generate\n  - kind: judge\n    mode: generate\n',
    );
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, 'kind: judge'),
      /missing required key 'rubric' in the judge stage at stages\[1\] \(expected a string: Handlebars judge prompt/,
    );
    const top = problems(
      'name: x\nmodel: { path: builtin:tiny }\nstages: [ { kind: generate } ]\n',
    );
    assertProblem(
      top,
      '1:1',
      /missing required key 'prompts' in the top level \(expected a mapping/,
    );
  });

  test('an unknown stage kind or enum value suggests the closest one', () => {
    const yaml = MINIMAL.replace(
      '  - kind: generate\n',
      '  - kind: generate\n  - kind: jugde\n  - { kind: judge, rubric: rubrics/additive-5pt.hbs, mode: logprob }\n',
    );
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, 'jugde'),
      /unknown kind 'jugde' in stages\[1\] \(did you mean 'judge'\?\) \(expected one of: generate, critique, judge, pair, audit, train, reward_model, rl, evaluate\)$/,
    );
    assertProblem(
      r,
      at(yaml, 'logprob '),
      /invalid stages\[2\]\.mode 'logprob' \(did you mean 'logprobs'\?\) \(expected one of: generate, logprobs, pairwise\)$/,
    );
  });

  test('loss accepts a name or a list of names', () => {
    const yaml = MINIMAL.replace(
      '  - kind: generate\n',
      '  - kind: generate\n  - { kind: judge, rubric: rubrics/additive-5pt.hbs }\n  - kind: pair\n' +
        '  - { kind: train, loss: [sigmoid, sigmod] }\n',
    );
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, 'sigmod'),
      /invalid stages\[3\]\.loss\[1\] 'sigmod' \(did you mean 'sigmoid'\?\)/,
    );
    const bad = problems(yaml.replace('[sigmoid, sigmod]', '3'));
    assert.match(
      bad.text,
      /wrong type for stages\[3\]\.loss: got number 3 \(expected one of: sigmoid, .*, or a list of them\)/,
    );
  });

  test("judge and judges together are an error at 'judge'", () => {
    const yaml =
      MINIMAL +
      '  - { kind: judge, judge: self, judges: [self], rubric: rubrics/additive-5pt.hbs }\n';
    const r = problems(yaml);
    assertProblem(r, at(yaml, 'self,'), /both 'judge' and 'judges' are given/);
  });

  test('invalid judge names and URLs', () => {
    const yaml =
      MINIMAL +
      "judges:\n  'bad name': { kind: openai, base_url: 'ftp://x', model: m }\n  self: { kind: rule, rules: [ { kind: json_valid } ] }\n";
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, "'bad name'"),
      /invalid judge name 'bad name' \(expected letters, digits/,
    );
    assertProblem(
      r,
      at(yaml, "'ftp://x'"),
      /invalid judges\["bad name"\]\.base_url 'ftp:\/\/x' \(expected an http:\/\/ or https:\/\/ URL\)/,
    );
    assertProblem(r, at(yaml, 'self:'), /'self' is the built-in name of the current policy/);
  });

  test('an empty value (`key:` with nothing after it) points at the key', () => {
    const yaml = MINIMAL.replace('  - kind: generate\n', '  - kind: generate\n    temperature:\n');
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, 'temperature'),
      /wrong type for stages\[0\]\.temperature: got an empty value/,
    );
  });
});

describe('stage order and cross-field rules', () => {
  const stagesOnly = (stages: string) => MINIMAL.replace('  - kind: generate\n', stages);

  test('judge needs generate or critique; pair needs judge; train needs pair', () => {
    const yaml = stagesOnly(
      '  - { kind: train }\n  - { kind: pair }\n  - { kind: judge, rubric: rubrics/additive-5pt.hbs }\n  - { kind: generate }\n',
    );
    const r = problems(yaml);
    assert.equal(r.lines.length, 3, r.text);
    assertProblem(
      r,
      at(yaml, 'judge,'),
      /a judge stage needs candidates to rate \(expected a generate or critique stage before it\)/,
    );
    assertProblem(
      r,
      at(yaml, 'train'),
      /a train stage needs preference pairs or labels \(expected a pair stage before it\)/,
    );
    assertProblem(
      r,
      at(yaml, 'pair'),
      /a pair stage needs scored candidates \(expected a judge stage before it\)/,
    );
  });

  test('critique needs a generate stage before it', () => {
    const yaml = stagesOnly(
      '  - { kind: critique, constitution: constitutions/helpful-harmless.md, critique_rubric: rubrics/critique.hbs, revision_rubric: rubrics/revision.hbs }\n',
    );
    assertProblem(
      problems(yaml),
      at(yaml, 'critique,'),
      /a critique stage needs answers to critique/,
    );
  });

  test('at most one train stage per round', () => {
    const yaml = stagesOnly(
      '  - kind: generate\n  - { kind: judge, rubric: rubrics/additive-5pt.hbs }\n  - kind: pair\n  - kind: train\n  - kind: train\n',
    );
    const r = problems(yaml);
    assert.equal(r.lines.length, 1, r.text);
    assertProblem(
      r,
      at(yaml, 'train', 1),
      /a second train stage in one round \(expected at most one train stage per round\)/,
    );
  });

  test('a pair stage needs two candidates per prompt unless a critique adds a revision', () => {
    const base =
      '  - { kind: generate, candidates: 1 }\n  - { kind: judge, rubric: rubrics/additive-5pt.hbs }\n  - kind: pair\n';
    const yaml = stagesOnly(base);
    assertProblem(
      problems(yaml),
      at(yaml, '1 }'),
      /a pair stage needs two answers per prompt but generate makes 1 \(expected candidates >= 2/,
    );
    const withCritique = stagesOnly(
      base.replace(
        '  - { kind: judge',
        '  - { kind: critique, constitution: constitutions/helpful-harmless.md, critique_rubric: rubrics/critique.hbs, revision_rubric: rubrics/revision.hbs }\n  - { kind: judge',
      ),
    );
    assert.equal(validate(withCritique).spec.stages.length, 4);
  });

  test('unknown judge names are reported where they are used, with a suggestion', () => {
    const yaml =
      stagesOnly(
        '  - kind: generate\n  - { kind: judge, judges: [self, ancor], rubric: rubrics/additive-5pt.hbs }\n' +
          '  - { kind: judge, judge: nobody, rubric: rubrics/additive-5pt.hbs }\n' +
          '  - { kind: evaluate, probes: prompts/probes.jsonl, judge: anchr }\n',
      ) + 'judges:\n  anchor: { kind: model, path: builtin:tiny }\n';
    const r = problems(yaml);
    assert.equal(r.lines.length, 3, r.text);
    assertProblem(
      r,
      at(yaml, 'ancor'),
      /unknown judge 'ancor' \(did you mean 'anchor'\?\) \(expected 'self' or one of the judges defined under judges: anchor\)$/,
    );
    assertProblem(
      r,
      at(yaml, 'nobody'),
      /unknown judge 'nobody' \(expected 'self' or one of the judges/,
    );
    assertProblem(r, at(yaml, 'anchr'), /unknown judge 'anchr' \(did you mean 'anchor'\?\)/);
  });

  test('train settings that contradict each other', () => {
    const yaml = stagesOnly(
      '  - kind: generate\n  - { kind: judge, rubric: rubrics/additive-5pt.hbs }\n  - kind: pair\n' +
        '  - { kind: train, loss: [sigmoid, sft], loss_weights: [1], full: true, lora: { r: 8 } }\n',
    );
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, '[1]'),
      /loss_weights has 1 weight for 2 losses \(expected one weight per entry of loss\)/,
    );
    assertProblem(r, at(yaml, 'lora'), /lora settings given with full: true/);
  });

  test('rule judges: regular expressions must compile and length rules need a bound', () => {
    const yaml =
      MINIMAL +
      "judges:\n  rules:\n    kind: rule\n    rules:\n      - { kind: regex, pattern: '(' }\n      - { kind: length }\n";
    const r = problems(yaml);
    assertProblem(
      r,
      at(yaml, "'('"),
      /invalid regular expression '\(': .* \(expected a JavaScript regular expression\)/,
    );
    assertProblem(r, at(yaml, '{ kind: length'), /a length rule without min or max checks nothing/);
  });

  test('an evaluate stage without a rubric needs a judge stage to borrow one from', () => {
    const yaml = stagesOnly('  - { kind: evaluate, probes: prompts/probes.jsonl, judge: self }\n');
    assertProblem(problems(yaml), at(yaml, '{ kind: evaluate'), /has no rubric for judge 'self'/);
  });
});

describe('referenced files', () => {
  test('paths resolve relative to the pipeline file, not the working directory', () => {
    // package.json exists in the working directory (the repository) but not next to the YAML.
    assert.ok(process.cwd() !== dirname(project(MINIMAL)));
    const yaml = MINIMAL.replace('prompts/seed.jsonl', 'package.json');
    const r = problems(yaml);
    assert.equal(r.lines.length, 1, r.text);
    assertProblem(
      r,
      at(yaml, 'package.json'),
      new RegExp(
        `prompts\\.file: file 'package\\.json' not found \\(expected an existing file; looked for ${dirname(r.file).replace(/[.]/g, '\\.')}/package\\.json\\)$`,
      ),
    );
    // ...and a file that is there passes from any working directory.
    assert.equal(validate(MINIMAL).spec.prompts.file, 'prompts/seed.jsonl');
  });

  test('every kind of reference is checked, at its own location', () => {
    const r = problems(FULL, { checkFiles: true }, []);
    const missing = [
      'prompts/seed.jsonl',
      'rubrics/self-instruct.hbs',
      'models/anchor',
      'prompts/refusal-phrases.txt',
      'constitutions/helpful-harmless.md',
      'rubrics/critique.hbs',
      'rubrics/revision.hbs',
      'rubrics/additive-5pt.hbs',
      'prompts/probes.jsonl',
    ];
    for (const m of missing)
      assert.ok(
        r.lines.some((l) => l.includes(`'${m}' not found`)),
        `${m}:\n${r.text}`,
      );
    assertProblem(
      r,
      at(FULL, 'models/anchor'),
      /judges\.anchor\.path: model folder 'models\/anchor' not found/,
    );
    assertProblem(
      r,
      at(FULL, 'rubrics/revision.hbs'),
      /stages\[1\]\.revision_rubric: file 'rubrics\/revision\.hbs' not found/,
    );
  });

  test('checkFiles: false skips the file checks', () => {
    assert.equal(validate(FULL, {}, []).spec.stages.length, 7);
  });

  test('model folders need config.json; builtin names must exist; hf: ids must be pulled first', () => {
    const yaml =
      MINIMAL.replace('builtin:tiny', 'models/empty') +
      'judges:\n  a: { kind: model, path: builtin:huge }\n  b: { kind: model, path: hf:Org/Judge-1B }\n  c: { kind: model, path: prompts/seed.jsonl }\n';
    const r = problems(yaml, { checkFiles: true }, ['prompts/seed.jsonl', 'models/empty/README']);
    assertProblem(
      r,
      at(yaml, 'models/empty'),
      /model\.path: 'models\/empty' is not a model folder: it has no config\.json/,
    );
    assertProblem(
      r,
      at(yaml, 'builtin:huge'),
      /unknown built-in model 'builtin:huge' \(expected builtin:sandbox, builtin:tiny or a model folder\)/,
    );
    assertProblem(
      r,
      at(yaml, 'hf:Org'),
      /run `pipeline pull Org\/Judge-1B` and write path: models\/Judge-1B/,
    );
    assertProblem(
      r,
      at(yaml, 'prompts/seed.jsonl', 1),
      /'prompts\/seed\.jsonl' is a file, not a folder/,
    );
  });

  test('files of a stage with an unrelated mistake are still checked', () => {
    const yaml = MINIMAL + '  - { kind: judge, rubric: rubrics/nope.hbs, samples: 0 }\n';
    const r = problems(yaml);
    assertProblem(r, at(yaml, 'rubrics/nope.hbs'), /file 'rubrics\/nope\.hbs' not found/);
    assertProblem(r, at(yaml, '0 }'), /samples is 0, out of range/);
  });
});

describe('checkTemplate hook', () => {
  test('its message is reported at the template field, with the absolute path and stage kind', () => {
    const calls: string[] = [];
    const file = project(FULL.replace('mode: logprobs', 'mode: pairwise'));
    const dir = dirname(file);
    try {
      validatePipeline(readPipelineFile(file), {
        checkFiles: true,
        checkTemplate: (abs, kind, { field, rubricMode }) => {
          calls.push(`${abs.slice(dir.length + 1)} ${kind} ${field} ${rubricMode}`);
          if (field === 'revision_rubric')
            return "unknown variable 'critque' (did you mean 'critique'?)";
          if (kind === 'self_instruct') throw new Error('Parse error on line 1');
          return undefined;
        },
      });
      assert.fail('expected the template problems');
    } catch (e) {
      assert.ok(e instanceof PipelineValidationError, String(e));
      const lines = e.message.split('\n');
      assert.equal(lines[0], `${file}: 2 problems`);
      assert.equal(
        lines[1],
        `${file}:${at(FULL, 'rubrics/self-instruct.hbs')}: prompts.self_instruct.rubric: template 'rubrics/self-instruct.hbs': Parse error on line 1`,
      );
      assert.equal(
        lines[2],
        `${file}:${at(FULL, 'rubrics/revision.hbs')}: stages[1].revision_rubric: template 'rubrics/revision.hbs': unknown variable 'critque' (did you mean 'critique'?)`,
      );
    }
    assert.deepEqual(calls.sort(), [
      'rubrics/additive-5pt.hbs judge rubric pairwise',
      'rubrics/additive-5pt.hbs judge rubric pointwise',
      'rubrics/critique.hbs critique critique_rubric critique',
      'rubrics/revision.hbs critique revision_rubric revision',
      'rubrics/self-instruct.hbs self_instruct rubric self-instruct',
    ]);
  });
});

describe('many problems at once', () => {
  test('every problem is listed, in file order, in one error', () => {
    const yaml = `name: 'bad name!'
model: { path: builtin:tiny, device: gpu }
rounds: 0
prompts: { file: prompts/missing.jsonl }
stages:
  - { kind: generate, temprature: 0.7 }
  - { kind: pair }
  - { kind: judge, judge: ancor, rubric: rubrics/additive-5pt.hbs }
`;
    const r = problems(yaml);
    const expected = [
      [at(yaml, "'bad name!'"), /invalid name 'bad name!' \(expected letters, digits/],
      [at(yaml, 'gpu'), /invalid model\.device 'gpu' \(did you mean 'cpu'\?\)/],
      [at(yaml, '0\n'), /rounds is 0, out of range \(expected an integer from 1 to 1000\)/],
      [at(yaml, 'prompts/missing.jsonl'), /file 'prompts\/missing\.jsonl' not found/],
      [at(yaml, 'temprature'), /unknown key 'temprature'/],
      [at(yaml, 'pair'), /a pair stage needs scored candidates/],
      [at(yaml, 'ancor'), /unknown judge 'ancor'/],
    ] as const;
    assert.equal(r.lines.length, expected.length, r.text);
    expected.forEach(([pos, re], i) => {
      assert.ok(r.lines[i].startsWith(`${r.file}:${pos}: `), `${i}: ${r.lines[i]}`);
      assert.match(r.lines[i], re);
    });
    assert.equal(r.error.message, `${r.file}: ${expected.length} problems\n${r.text}`);
    assert.match(r.error.hint ?? '', /pipeline schema/);
  });
});

describe('yaml-locate', () => {
  const yaml = `base: &base { temperature: 0.5 }
stages:
  - kind: generate
    top_p: 0.9
  - { kind: judge, rubric: r.hbs }
  - <<: *base
    kind: pair
`;
  const file = project(yaml);
  const pf = readPipelineFile(file);
  const pos = (path: PropertyKey[], key = false) => {
    const l = locate(pf, path, { at: key ? 'key' : 'value' });
    return `${l.line}:${l.col}${l.exact ? '' : ' (nearest)'}`;
  };

  test('values in block and flow style', () => {
    assert.equal(pos(['stages', 0, 'top_p']), at(yaml, '0.9'));
    assert.equal(pos(['stages', 0, 'top_p'], true), at(yaml, 'top_p'));
    assert.equal(pos(['stages', 1, 'rubric']), at(yaml, 'r.hbs'));
    assert.equal(pos(['stages', 1]), at(yaml, '{ kind: judge'));
  });

  test('a missing key or index points at the nearest existing ancestor', () => {
    assert.equal(pos(['stages', 1, 'mode']), `${at(yaml, '{ kind: judge')} (nearest)`);
    assert.equal(pos(['stages', 9, 'kind']), `${at(yaml, '- kind')} (nearest)`);
    assert.equal(pos(['nope']), '1:1 (nearest)');
  });

  test('merge keys and aliases lead to where the value is written', () => {
    assert.equal(pos(['stages', 2, 'temperature']), at(yaml, '0.5'));
  });
});

describe('suggestions', () => {
  test('edit distance counts a transposition as one edit', () => {
    assert.equal(editDistance('jugde', 'judge'), 1);
    assert.equal(editDistance('temprature', 'temperature'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  test('only plausible typos are suggested', () => {
    assert.equal(suggest('temprature', ['top_p', 'temperature']), 'temperature');
    assert.equal(suggest('Beta', ['beta', 'epochs']), 'beta');
    assert.equal(suggest('lr', ['learning_rate', 'r']), 'r');
    assert.equal(suggest('learningrate', ['learning_rate']), 'learning_rate');
    assert.equal(suggest('xyz', ['generate', 'judge']), undefined);
  });
});
