// The store layer: the provenance ledger of a run in SQLite (see run-store.ts).
//
//   open.ts          opening a run database: folders, permissions, pragmas, migration
//   store-base.ts    the connection, the selected run, the rules every statement runs under
//   run-store.ts     openStore and RunStore: runs and texts, assembled from the parts below
//   rounds.ts        rounds and stage runs (what resume reads)
//   ledger/*.ts      prompts, candidates, judgements, pairs (+ discards), training (checkpoints,
//                    train steps, eval metrics): each table group's SQL, row types and methods
//   event-log.ts     the run's lifecycle events (written by the runner, read by `pipeline show`)
//   gate-stops.ts    the gates that stopped a run (its status then reads 'stopped')
//   trace.ts         the provenance trace of a preference pair
//
// How a stage resumes without duplicating work (the pattern every stage follows):
//
//   const store = openStore(runDbPath('runs', runId));        // creates folders + schema
//   store.createRun({ id: runId, name, pipelinePath, pipelineYaml, seed }); // or useRun(runId)
//   store.upsertRound(r, { policyCheckpointId, referenceCheckpointId, status: 'running' });
//   if (store.getStage(r, i)?.status !== 'done') {
//     store.startStage(r, i, 'generate');
//     for (const p of prompts) {
//       const h = inputHash('generate', r, p.id, k, sampling, checkpointId);
//       if (store.existingId('candidates', h)) continue;       // done before the crash
//       const out = await generate(...);                        // async work outside
//       store.addCandidate({ round: r, stageIndex: i, inputHash: h, ... }); // sync write
//     }
//     store.finishStage(r, i, { counts });
//   }
export { canonicalJson, contentHash, inputHash } from './hash.js';
export { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, migrate } from './migrations.js';
export type { MigrationResult } from './migrations.js';
export { RunStore, openStore } from './run-store.js';
export type { OpenStoreOptions } from './run-store.js';
export { RUN_DB_FILE, assertRunId, listRunDirs, runDbPath } from './run-dirs.js';
export type { RunDirEntry, RunSummary } from './run-dirs.js';
export type * from './types.js';
