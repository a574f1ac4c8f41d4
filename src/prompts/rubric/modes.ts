// A rubric's mode says which stage field it serves; the mode fixes the answer formats that make
// sense and the variables the stage provides. This table is the contract between the shipped
// rubrics and the stages.

import type { AnswerFormatName } from '../answer-formats.js';

export const RUBRIC_MODES = [
  'pointwise',
  'pairwise',
  'critique',
  'revision',
  'self-instruct',
  'meta-judge',
] as const;
export type RubricMode = (typeof RUBRIC_MODES)[number];

/** Which answer formats make sense for each mode; anything else is a configuration mistake. */
export const FORMATS_FOR_MODE: Record<RubricMode, readonly AnswerFormatName[]> = {
  pointwise: ['score-line', 'json-score'],
  pairwise: ['ab-choice'],
  critique: ['free-text'],
  revision: ['free-text'],
  'self-instruct': ['instruction-line'],
  'meta-judge': ['ab-choice'],
};

/**
 * The variables a stage provides to a rubric of each mode: the contract between the shipped
 * rubrics and the stages. `constitution` is the list of principles (Constitution.principles),
 * `principle` one Principle, `examples` a list of seed instruction strings.
 */
export const STAGE_VARIABLES: Record<RubricMode, readonly string[]> = {
  pointwise: ['prompt', 'response', 'constitution'],
  pairwise: ['prompt', 'response_a', 'response_b', 'principle', 'constitution'],
  critique: ['prompt', 'response', 'principle'],
  revision: ['prompt', 'response', 'principle', 'critique'],
  'self-instruct': ['examples'],
  // Meta-Rewarding: two judgements of one answer; `judge_prompt` is the judge's rendered rubric
  'meta-judge': ['prompt', 'response', 'judgement_a', 'judgement_b', 'judge_prompt'],
};

/** A shipped rubric of each mode, named in hints when a rubric of the wrong mode is used. */
export const SHIPPED_EXAMPLE: Record<RubricMode, string> = {
  pointwise: 'rubrics/additive-5pt.hbs',
  pairwise: 'rubrics/pairwise-principle.hbs',
  critique: 'rubrics/critique.hbs',
  revision: 'rubrics/revision.hbs',
  'self-instruct': 'rubrics/self-instruct.hbs',
  'meta-judge': 'rubrics/meta-judge.hbs',
};

export function isRubricMode(mode: unknown): mode is RubricMode {
  return typeof mode === 'string' && (RUBRIC_MODES as readonly string[]).includes(mode);
}
