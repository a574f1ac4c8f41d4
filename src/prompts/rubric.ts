// Rubrics are Handlebars templates with a YAML front-matter block that declares how the judge
// must answer; see rubric/front-matter.ts for the block, rubric/sandbox.ts for what a template
// may do, and rubric/template-scan.ts for the check that enforces it at load time.
export { checkRubricUse, checkRubricVariables, missingRubricVariables } from './rubric/checks.js';
export { loadRubric, parseRubric } from './rubric/load.js';
export { RUBRIC_MODES, STAGE_VARIABLES, type RubricMode } from './rubric/modes.js';
export type { Rubric, VariableUse } from './rubric/types.js';
