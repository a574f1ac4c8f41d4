// What a loaded rubric is: its text and hash for provenance, its answer format, the variables it
// reads (with their first position in the file), and its render function.

import type { AnswerFormat } from '../answer-formats.js';
import type { Scale } from '../answer-parsers.js';
import type { RubricMode } from './modes.js';

export interface VariableUse {
  name: string;
  /** 1-based position in the rubric file of the first use. */
  line: number;
  col: number;
}

export interface Rubric {
  path: string;
  /** The whole file, front matter included. */
  source: string;
  /** sha256 of the file text: recorded with every rendered judge prompt. */
  hash: string;
  /** The template after the front matter. */
  body: string;
  format: AnswerFormat;
  scale?: Scale;
  mode: RubricMode;
  description?: string;
  /** Top-level variables the template uses, in order of first use. */
  variables: string[];
  /** The subset of `variables` used only under `{{#if name}}` (or `{{#unless name}}...{{else}}`). */
  optionalVariables: string[];
  /** `variables` minus `optionalVariables`: rendering without one of these is an error. */
  requiredVariables: string[];
  /** First use of each variable, for messages that point into the file. */
  uses: VariableUse[];
  /** Render with the given variables; trailing whitespace of the result is dropped. */
  render(vars: Record<string, unknown>): string;
}
