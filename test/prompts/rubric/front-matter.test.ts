import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSWER_FORMAT_NAMES } from '../../../src/prompts/answer-formats.js';
import { readFrontMatter, splitFrontMatter } from '../../../src/prompts/rubric/front-matter.js';
import {
  FORMATS_FOR_MODE,
  isRubricMode,
  RUBRIC_MODES,
  SHIPPED_EXAMPLE,
  STAGE_VARIABLES,
} from '../../../src/prompts/rubric/modes.js';
import { throwsCode } from '../helpers.js';

describe('splitFrontMatter', () => {
  test('the YAML starts on line 2 and the body after the closing line', () => {
    const parts = splitFrontMatter('---  \nmode: x\na: 1\n---\nBody\n{{x}}', 'r.hbs');
    assert.deepEqual(parts, {
      yaml: 'mode: x\na: 1',
      yamlFirstLine: 2,
      body: 'Body\n{{x}}',
      bodyFirstLine: 5,
    });
  });

  test('an empty front matter and an empty body are still two parts', () => {
    assert.deepEqual(splitFrontMatter('---\n---', 'r.hbs'), {
      yaml: '',
      yamlFirstLine: 2,
      body: '',
      bodyFirstLine: 3,
    });
  });

  test('no opening or no closing "---" is an error at line 1', () => {
    throwsCode(
      () => splitFrontMatter('Body', 'r.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /^r\.hbs:1:1: a rubric must begin/,
    );
    throwsCode(
      () => splitFrontMatter('---\nmode: x\nBody', 'r.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /^r\.hbs:1:1: the front matter opened here is never closed/,
    );
  });
});

describe('readFrontMatter', () => {
  test('a score rubric: format with its scale, mode and description', () => {
    const fm = readFrontMatter(
      'answer_format: json-score\nscale: [1, 10]\nmode: pointwise\ndescription: d',
      2,
      'r.hbs',
    );
    assert.equal(fm.format.name, 'json-score');
    assert.deepEqual(fm.scale, [1, 10]);
    assert.equal(fm.mode, 'pointwise');
    assert.equal(fm.description, 'd');
  });

  test('a free-text label is trimmed and reaches the parser', () => {
    const fm = readFrontMatter(
      'answer_format: free-text\nmode: revision\nlabel: " Revision "',
      2,
      'r.hbs',
    );
    assert.equal(fm.scale, undefined);
    assert.deepEqual(fm.format.parse('**Revision:** Better text.'), {
      ok: true,
      text: 'Better text.',
    });
  });

  test('positions count from the line the YAML starts on', () => {
    throwsCode(
      () =>
        readFrontMatter('answer_format: score-line\nscale: [5, 0]\nmode: pointwise', 7, 'r.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /^r\.hbs:8:8: scale must be \[min, max\]/,
    );
    throwsCode(
      () => readFrontMatter('mode: pointwise\nscales: [0, 5]', 2, 'r.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /^r\.hbs:3:1: unknown front-matter key "scales"/,
    );
  });

  test('checks run in a fixed order: format, mode, their fit, scale, label, description', () => {
    throwsCode(
      () => readFrontMatter('mode: nope', 2, 'r.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /has no answer_format/,
    );
    throwsCode(
      () => readFrontMatter('answer_format: nope', 2, 'r.hbs'),
      'E_RUBRIC_FORMAT',
      /unknown answer_format "nope"/,
    );
    throwsCode(
      () => readFrontMatter('answer_format: ab-choice', 2, 'r.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /has no mode/,
    );
    throwsCode(
      () => readFrontMatter('answer_format: ab-choice\nmode: critique\nscale: x', 2, 'r.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /^r\.hbs:2:16: answer_format "ab-choice" does not fit mode "critique"/,
    );
    throwsCode(
      () =>
        readFrontMatter(
          'answer_format: ab-choice\nmode: pairwise\nscale: [0, 1]\nlabel: 1',
          2,
          'r.hbs',
        ),
      'E_RUBRIC_FRONT_MATTER',
      /scale has no meaning for answer_format "ab-choice"/,
    );
    throwsCode(
      () =>
        readFrontMatter(
          'answer_format: free-text\nmode: critique\nlabel: ""\ndescription: 1',
          2,
          'r.hbs',
        ),
      'E_RUBRIC_FRONT_MATTER',
      /label must be a non-empty string/,
    );
    throwsCode(
      () => readFrontMatter('answer_format: free-text\nmode: critique\ndescription: 1', 2, 'r.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /^r\.hbs:4:14: description must be a string/,
    );
  });
});

describe('the mode table', () => {
  test('every mode has known formats, stage variables and a shipped example', () => {
    for (const mode of RUBRIC_MODES) {
      assert.ok(isRubricMode(mode));
      assert.ok(FORMATS_FOR_MODE[mode].length > 0);
      for (const f of FORMATS_FOR_MODE[mode]) assert.ok(ANSWER_FORMAT_NAMES.includes(f));
      assert.ok(STAGE_VARIABLES[mode].length > 0);
      assert.match(SHIPPED_EXAMPLE[mode], /^rubrics\/.+\.hbs$/);
    }
    assert.equal(isRubricMode('Pointwise'), false);
    assert.equal(isRubricMode(undefined), false);
  });
});
