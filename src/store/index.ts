// The store layer: the provenance ledger of a run in SQLite (see run-store.ts).
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
