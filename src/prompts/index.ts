// The prompts layer: constitutions and rubrics as text researchers edit, the parser of each
// judge answer format, and the prompt sets and phrase lists the stages read.
export * from './answer-formats.js';
export * from './answer-parsers.js';
export * from './constitution.js';
export * from './phrase-list.js';
export * from './prompt-set.js';
export * from './rubric.js';
