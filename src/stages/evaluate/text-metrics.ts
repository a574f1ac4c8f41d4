import { loadPhraseList } from '../../prompts/phrase-list.js';
import type { EvaluateStageSpec } from '../../spec/schema.js';
import type { RunContext } from '../context.js';
import type { MetricLog } from './metric-log.js';
import { charLengths, meanLength, meanTokens } from './metrics/length.js';
import { phraseRate } from './metrics/phrase-rate.js';
import type { ProbeAnswer } from './probe-answers.js';

/**
 * Step 4: what the answers' text shows without a judge: `mean_length` (detail: every length),
 * `mean_tokens`, and the refusal and boilerplate phrase rates when the stage names phrase lists.
 */
export function recordTextMetrics(
  ctx: RunContext,
  spec: EvaluateStageSpec,
  log: MetricLog,
  answers: readonly ProbeAnswer[],
): void {
  const texts = answers.map((a) => a.cand.text);
  const lengths = charLengths(texts);
  log.record('mean_length', meanLength(lengths), { lengths });
  log.record('mean_tokens', meanTokens(answers.map((a) => a.cand.tokenIds)));
  const recordRate = (file: string | undefined, metric: string) => {
    if (!file) return;
    const { hits, rate } = phraseRate(texts, loadPhraseList(ctx.path(file)));
    log.record(metric, rate, { hits });
  };
  recordRate(spec.refusal_phrases, 'refusal_rate');
  recordRate(spec.boilerplate_phrases, 'boilerplate_rate');
}
