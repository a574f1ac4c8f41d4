// Settings of an rl stage that only one algorithm reads: PPO's (TRL PPOConfig names) belong to
// algorithm ppo, and the group methods need groups. Shared by pipeline validation and
// `pipeline rl`, whose flags are the stage's fields.
import { PPO_FIELDS, type RlStageSpec } from '../schema.js';

export interface RlSettingProblem {
  field: string;
  message: string;
}

export function rlAlgorithmProblems(s: RlStageSpec): RlSettingProblem[] {
  const out: RlSettingProblem[] = [];
  if (s.algorithm !== 'ppo') {
    for (const f of PPO_FIELDS)
      if (s[f] !== undefined)
        out.push({
          field: f,
          message: `${f} is a ppo setting, but this stage's algorithm is ${s.algorithm} (expected algorithm: ppo, or no ${f})`,
        });
    if (s.num_generations < 2)
      out.push({
        field: 'num_generations',
        message: `${s.algorithm} compares completions within a prompt's group, but num_generations is ${s.num_generations} (expected at least 2)`,
      });
    return out;
  }
  if (s.beta !== 0)
    out.push({
      field: 'beta',
      message: `ppo's KL coefficient is kl_coef (TRL's name), but beta is ${s.beta} (expected no beta, e.g. kl_coef: ${s.beta})`,
    });
  if (s.num_iterations !== 1)
    out.push({
      field: 'num_iterations',
      message: `ppo's optimizer steps per batch are num_ppo_epochs (TRL's name), but num_iterations is ${s.num_iterations} (expected no num_iterations, e.g. num_ppo_epochs: ${s.num_iterations})`,
    });
  if (s.epsilon_high !== undefined)
    out.push({
      field: 'epsilon_high',
      message: 'ppo clips the ratio symmetrically with cliprange (expected no epsilon_high)',
    });
  return out;
}
