// The parts of the file that parsed, for the cross-field checks: when the whole file is valid
// they come from the spec; otherwise each judge and stage is parsed on its own, so the checks
// still see every part that is valid by itself.

import {
  judgeSchema,
  stageSchema,
  type JudgeSpec,
  type PipelineSpec,
  type StageSpec,
} from '../schema.js';
import type { StageKind } from '../stage-kinds.js';
import { isRecord, rawStages, stageKindOf } from './raw-value.js';

/** One entry of `stages:` as far as it parsed. */
export interface ParsedStage {
  index: number;
  /** Known even when the rest of the stage is invalid, so order checks still run. */
  kind?: StageKind;
  /** The parsed stage, when it is valid. */
  spec?: StageSpec;
  raw: unknown;
}

export interface ParsedParts {
  /** Every judge name written (valid or not) -> its parsed definition, when valid. */
  judges: Map<string, JudgeSpec | undefined>;
  stages: ParsedStage[];
}

export function partsOfSpec(spec: PipelineSpec, raw: unknown): ParsedParts {
  const r = rawStages(raw);
  return {
    judges: new Map(Object.entries(spec.judges)),
    stages: spec.stages.map((s, index) => ({ index, kind: s.kind, spec: s, raw: r[index] })),
  };
}

export function partsOfRaw(raw: unknown): ParsedParts {
  const top = isRecord(raw) ? raw : {};
  const judges = new Map<string, JudgeSpec | undefined>();
  if (isRecord(top.judges))
    for (const [name, j] of Object.entries(top.judges))
      judges.set(name, judgeSchema.safeParse(j).data);
  return {
    judges,
    stages: rawStages(raw).map((r, index) => ({
      index,
      kind: stageKindOf(r),
      spec: stageSchema.safeParse(r).data,
      raw: r,
    })),
  };
}
