import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { CliContext } from '../../src/cli/context.js';
import { registerSchema } from '../../src/cli/commands/schema.js';
import { registerValidate } from '../../src/cli/commands/validate.js';
import { pipelineJsonSchema, STAGE_KINDS } from '../../src/spec/schema.js';
import { PipelineValidationError } from '../../src/spec/validate/index.js';

type Json = Record<string, unknown>;

/** Every subschema that describes an object with named properties, with its JSON pointer. */
function objectSchemas(node: unknown, at = '#'): [string, Json][] {
  if (node === null || typeof node !== 'object') return [];
  const found: [string, Json][] = [];
  const o = node as Json;
  if (o.type === 'object' && o.properties) found.push([at, o]);
  for (const [k, v] of Object.entries(o)) {
    if (Array.isArray(v))
      v.forEach((item, i) => found.push(...objectSchemas(item, `${at}/${k}/${i}`)));
    else found.push(...objectSchemas(v, `${at}/${k}`));
  }
  return found;
}

/** A commander program with only these commands, writing into arrays. */
function harness() {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (s) => void out.push(s),
    err: (s) => void err.push(s),
    debug: false,
  };
  const program = new Command('pipeline')
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err });
  registerSchema(program, ctx);
  registerValidate(program, ctx);
  for (const cmd of program.commands)
    cmd.exitOverride().configureOutput({ writeOut: ctx.out, writeErr: ctx.err });
  return { program, out, err };
}

describe('JSON Schema export', () => {
  const schema = pipelineJsonSchema();

  test('is plain JSON (draft-07) that round-trips', () => {
    const text = JSON.stringify(schema);
    assert.deepEqual(JSON.parse(text), schema);
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(schema.type, 'object');
    assert.deepEqual(schema.required, ['name', 'model', 'prompts', 'stages']);
  });

  test('every object is closed and every property is described', () => {
    const objects = objectSchemas(schema);
    assert.ok(objects.length > 15, `only ${objects.length} object schemas`);
    for (const [ptr, o] of objects) {
      assert.equal(o.additionalProperties, false, `${ptr} allows unknown keys`);
      for (const [name, p] of Object.entries(o.properties as Record<string, Json>)) {
        // `kind` is a constant that selects the variant; its parent carries the description.
        if (name === 'kind' && 'const' in p) continue;
        assert.equal(
          typeof p.description,
          'string',
          `${ptr}/properties/${name} has no description`,
        );
      }
    }
  });

  test('stages offer one variant per kind, with defaults and ranges for completion', () => {
    const stages = (schema.properties as Record<string, Json>).stages;
    const variants = (stages.items as Json).oneOf as Json[];
    const kinds = variants.map((v) => ((v.properties as Record<string, Json>).kind as Json).const);
    assert.deepEqual(kinds, [...STAGE_KINDS]);
    const generate = variants[0].properties as Record<string, Json>;
    assert.deepEqual(generate.top_p, {
      default: 0.9,
      description: 'Nucleus sampling mass; 1 disables it.',
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 1,
    });
    const judge = variants[2].properties as Record<string, Json>;
    // The input side: both the `judge:` shorthand and `judges:` are offered.
    assert.ok(judge.judge && judge.judges);
    assert.deepEqual(variants[2].required, ['kind', 'rubric']);
  });
});

describe('commands through commander', () => {
  test('`schema` prints the JSON Schema as pretty JSON', async () => {
    const h = harness();
    await h.program.parseAsync(['schema'], { from: 'user' });
    const text = h.out.join('');
    assert.ok(text.startsWith('{\n  "$schema"'), text.slice(0, 40));
    assert.ok(text.endsWith('}\n'));
    assert.deepEqual(JSON.parse(text), pipelineJsonSchema());
    assert.deepEqual(h.err, []);
  });

  test('`validate` prints ok with the stage and round counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlaif-validate-'));
    mkdirSync(join(dir, 'prompts'));
    writeFileSync(join(dir, 'prompts', 'seed.jsonl'), '{"prompt": "Hi"}\n');
    const file = join(dir, 'p.yaml');
    writeFileSync(
      file,
      'name: t\nrounds: 2\nmodel: { path: builtin:tiny }\nprompts: { file: prompts/seed.jsonl }\n' +
        'stages:\n  - kind: generate\n',
    );
    const h = harness();
    await h.program.parseAsync(['validate', file], { from: 'user' });
    assert.equal(h.out.join(''), `${file}: ok (1 stage, 2 rounds)\n`);
  });

  test('`validate` checks files and reports every problem in one error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlaif-validate-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(
      file,
      'name: t\nmodel: { path: builtin:tiny }\nprompts: { file: prompts/seed.jsonl }\n' +
        'stages:\n  - { kind: generate, temprature: 1 }\n',
    );
    const h = harness();
    await assert.rejects(h.program.parseAsync(['validate', file], { from: 'user' }), (e) => {
      assert.ok(e instanceof PipelineValidationError);
      assert.equal(e.code, 'E_PIPELINE_INVALID');
      assert.equal(
        e.message,
        `${file}: 2 problems\n` +
          `${file}:3:18: prompts.file: file 'prompts/seed.jsonl' not found (expected an existing file; looked for ${dir}/prompts/seed.jsonl)\n` +
          `${file}:5:23: unknown key 'temprature' in the generate stage at stages[0] (did you mean 'temperature'?)`,
      );
      return true;
    });
    assert.deepEqual(h.out, []);
  });
});
