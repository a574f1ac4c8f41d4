// What the pipeline validator asks of a rubric before any generation is spent: that it has the
// mode its stage field needs, and uses only variables that stage provides. Rendering asks the
// same question of the variables it is actually given.

import { fail } from '../../core/errors.js';
import { missingError } from './errors.js';
import { SHIPPED_EXAMPLE, STAGE_VARIABLES, type RubricMode } from './modes.js';
import type { Rubric, VariableUse } from './types.js';

/** Required variables of the rubric that `provided` lacks, each with its first use in the file. */
export function missingRubricVariables(rubric: Rubric, provided: readonly string[]): VariableUse[] {
  const have = new Set(provided);
  return rubric.uses.filter((u) => rubric.requiredVariables.includes(u.name) && !have.has(u.name));
}

/**
 * For the pipeline validator: throw E_RUBRIC_VARIABLE when the stage will not provide a variable
 * the rubric needs, before any generation is spent.
 */
export function checkRubricVariables(rubric: Rubric, provided: readonly string[]): void {
  const missing = missingRubricVariables(rubric, provided);
  if (missing.length > 0) throw missingError(rubric, missing, provided);
}

/**
 * For the pipeline validator: the rubric at a stage field must have the mode that field needs
 * (a pairwise rubric cannot score one response), and use only variables that stage provides.
 */
export function checkRubricUse(rubric: Rubric, mode: RubricMode): void {
  if (rubric.mode !== mode) {
    fail(
      'E_RUBRIC_MODE',
      `${rubric.path}:1:1: this rubric is declared "mode: ${rubric.mode}" but is used where a ${mode} rubric is needed`,
      `use a ${mode} rubric here (e.g. ${SHIPPED_EXAMPLE[mode]}), or fix the rubric's mode`,
    );
  }
  checkRubricVariables(rubric, STAGE_VARIABLES[mode]);
}
