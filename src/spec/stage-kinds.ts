// The kinds of stage a round is made of: one list that the schema's discriminated union, the
// run's events and the UI all name, so a new kind is added in one place (schema.ts checks at
// compile time that its union of stage schemas has exactly these kinds).

export const STAGE_KINDS = [
  'generate',
  'critique',
  'judge',
  'pair',
  'audit',
  'train',
  'reward_model',
  'rl',
  'evaluate',
] as const;

export type StageKind = (typeof STAGE_KINDS)[number];

export function isStageKind(v: unknown): v is StageKind {
  return typeof v === 'string' && (STAGE_KINDS as readonly string[]).includes(v);
}
