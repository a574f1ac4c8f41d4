// KTO in the loop: a pair stage with `strategy: label` makes unpaired labels, not pairs, and a
// train stage with `loss: kto` trains on them alone. These checks keep the two sides matched: the
// thresholds a label stage needs, the pair settings it would ignore, a train stage whose loss has
// nothing to train on, and the pair-only settings a KTO train stage would ignore.

import type { PairStageSpec, TrainStageSpec } from '../schema.js';
import type { ParsedParts, ParsedStage } from './parsed-parts.js';
import type { Path, Problems } from './problems.js';
import { isRecord } from './raw-value.js';

/** Pair-stage settings that only shape pairs, which a label stage does not make. */
const PAIR_ONLY = ['min_margin', 'length_control', 'soft_labels', 'soft_label_temperature'];
/** Train-stage settings that only apply to pairs (or to combining losses). */
const PAIR_TRAIN_ONLY = ['loss_weights', 'label_smoothing', 'soft_labels', 'simpo_gamma'];
const KTO_WEIGHTS = ['desirable_weight', 'undesirable_weight'] as const;

const written = (st: ParsedStage, key: string): boolean => isRecord(st.raw) && key in st.raw;

export function checkKto(out: Problems, parts: ParsedParts): void {
  for (const st of parts.stages) {
    const s = st.spec;
    if (s?.kind === 'pair') checkPairStage(out, st, s);
    if (s?.kind === 'train') checkTrainStage(out, parts, st, s);
  }
}

function checkPairStage(out: Problems, st: ParsedStage, s: PairStageSpec): void {
  const at = (...p: Path): Path => ['stages', st.index, ...p];
  if (s.strategy !== 'label') {
    for (const key of ['desirable_threshold', 'undesirable_threshold'])
      if (written(st, key))
        out.add(
          at(key),
          `${key} labels candidates for KTO, but this pair stage's strategy is ${s.strategy} ` +
            `(expected strategy: label, or no ${key})`,
          'key',
        );
    return;
  }
  const missing = (['desirable_threshold', 'undesirable_threshold'] as const).filter(
    (k) => s[k] === undefined,
  );
  if (missing.length)
    out.add(
      at('strategy'),
      `strategy label needs ${missing.join(' and ')} (expected scores on the judges' 0-1 scale, ` +
        'e.g. desirable_threshold: 0.7, undesirable_threshold: 0.3)',
    );
  else if (s.undesirable_threshold! >= s.desirable_threshold!)
    out.add(
      at('undesirable_threshold'),
      `undesirable_threshold ${s.undesirable_threshold} is not below desirable_threshold ` +
        `${s.desirable_threshold}, so a score could be both (expected undesirable_threshold < desirable_threshold)`,
    );
  for (const key of PAIR_ONLY)
    if (written(st, key))
      out.add(
        at(key),
        `${key} shapes preference pairs, but strategy label makes no pairs (expected no ${key} with strategy: label)`,
        'key',
      );
}

function checkTrainStage(
  out: Problems,
  parts: ParsedParts,
  st: ParsedStage,
  s: TrainStageSpec,
): void {
  const at = (...p: Path): Path => ['stages', st.index, ...p];
  const before = parts.stages.filter((p) => p.index < st.index && p.kind === 'pair');
  // an invalid pair stage is reported already; its strategy is unknown, so say nothing of it
  if (before.some((p) => !p.spec)) return;
  const strategies = before.map((p) => (p.spec as PairStageSpec).strategy);
  const labels = strategies.includes('label');
  const pairs = strategies.some((x) => x !== 'label');
  if (!s.loss.includes('kto')) {
    if (labels && !pairs)
      out.add(
        at('loss'),
        `loss ${s.loss.join(', ')} trains on preference pairs, but the pair stage before it has ` +
          'strategy label, which makes KTO labels (expected loss: kto, or a pair stage with another strategy)',
      );
    for (const key of KTO_WEIGHTS)
      if (s[key] !== undefined)
        out.add(
          at(key),
          `${key} weighs KTO's labels, but this stage trains ${s.loss.join(', ')} (expected loss: kto, or no ${key})`,
          'key',
        );
    return;
  }
  if (s.loss.length > 1)
    out.add(
      at('loss'),
      `loss kto trains on unpaired labels and cannot be combined with ${s.loss.filter((l) => l !== 'kto').join(', ')} ` +
        '(expected loss: kto alone)',
    );
  if (before.length && !labels)
    out.add(
      at('loss'),
      "loss kto trains on the round's desirable/undesirable labels, but no pair stage before it " +
        'makes them (expected a pair stage with strategy: label before this train stage)',
    );
  // the KL estimate pairs each row with another row of its batch (kto-trainer.ts; TRL refuses too)
  if (s.batch_size < 2)
    out.add(
      at('batch_size'),
      `loss kto estimates its KL term from the other rows of a batch, but batch_size is ${s.batch_size} ` +
        '(expected batch_size >= 2)',
    );
  for (const key of PAIR_TRAIN_ONLY)
    if (written(st, key))
      out.add(
        at(key),
        `${key} applies to pair losses, but this stage trains kto (expected no ${key}; ` +
          'weigh the labels with desirable_weight / undesirable_weight)',
        'key',
      );
  if (s.human_labels === 'override')
    out.add(
      at('human_labels'),
      'human_labels: override replaces audited pairs, but loss kto trains on labels (expected human_labels: ignore)',
    );
  const meta = parts.stages.find(
    (p) => p.index < st.index && p.spec?.kind === 'judge' && p.spec.meta_judge,
  );
  if (meta)
    out.add(
      at('loss'),
      `meta_judge at stages[${meta.index}] makes judge-role pairs, which loss kto cannot train on ` +
        '(expected a pair loss, or no meta_judge)',
    );
}
