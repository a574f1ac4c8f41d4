import { promptText } from '../../judges/model-judge.js';
import { inputHash } from '../../store/hash.js';
import type { ResolvedJudge } from '../judge-setup.js';
import { alreadyJudged, recordJudgement } from './record.js';
import type { JudgeUnit } from './unit.js';

/** Rule judges score each candidate by the share of rules it passes; no model, no rubric. */
export function judgeByRules(u: JudgeUnit<Extract<ResolvedJudge, { kind: 'rule' }>>): void {
  for (const c of u.cands) {
    const hash = inputHash('judgement', u.judge.id, 'rule', c.inputHash);
    if (alreadyJudged(u, hash)) continue;
    const v = u.judge.rules.judge(c.text, promptText(u.prompt.messages));
    recordJudgement(
      u,
      {
        inputHash: hash,
        mode: 'rule',
        candidateId: c.id,
        score: v.score,
        rawOutput: JSON.stringify(v.outcomes),
        detail: { outcomes: v.outcomes },
      },
      {
        score: v.score,
        text: v.outcomes.map((o) => `${o.passed ? '✓' : '✗'} ${o.rule}: ${o.why}`).join('; '),
      },
    );
  }
}
