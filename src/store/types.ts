// Every row and input shape of the run database, in one place to import them from. Each is
// declared beside the statements that read and write it.

export type { ChatMessage } from '../engine/index.js';
export type * from './run-types.js';
export type * from './ledger/prompts.js';
export type * from './ledger/candidates.js';
export type * from './ledger/judgements.js';
export type * from './ledger/pairs.js';
export type * from './ledger/labels.js';
export type * from './ledger/meta-judge.js';
export type * from './ledger/training.js';
export type { GateStopRow, NewGateStop } from './gate-stops.js';
export type { InputChangeRow } from './ledger/inputs.js';
export type { RoundResetRow } from './ledger/resets.js';
export type { EventQuery, EventRow, LoggableEvent, NewEvent } from './event-log.js';
export type { CandidateTrace, PairTrace, TraceSource } from './trace.js';
