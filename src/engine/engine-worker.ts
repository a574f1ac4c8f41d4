// Worker-thread host of a LocalEngine: onnxruntime's session.run blocks its thread, so the CLI,
// the UI and the pipeline's queues talk to the model through messages (see engine.ts).
import { parentPort } from 'node:worker_threads';
import { isPipelineError } from '../core/errors.js';
import { LocalEngine } from './local-engine.js';
import { runTraining, type TrainJob } from './train/run-training.js';
import { RlRun, type RlJob } from './train/rl-run.js';
import {
  runRewardModelTraining,
  type RewardModelJob,
} from './train/reward-model/run-rm-training.js';

export type Request = { id: number; method: string; params: unknown[] };
export type Response =
  | { id: number; ok: true; result: unknown }
  | {
      id: number;
      ok: false;
      error: {
        name: string;
        message: string;
        code?: string;
        hint?: string;
        exitCode?: number;
        stack?: string;
      };
    }
  | { id: number; event: unknown };

let engine: LocalEngine | undefined;
let rl: RlRun | undefined;
const port = parentPort;
if (!port) throw new Error('engine-worker.js must run in a worker thread');

async function dispatch(req: Request): Promise<unknown> {
  const p = req.params;
  if (req.method === 'open') {
    engine = LocalEngine.open(p[0] as string, p[1] as Parameters<typeof LocalEngine.open>[1]);
    return engine.info();
  }
  if (req.method === 'train')
    return runTraining(p[0] as TrainJob, (event) => port!.postMessage({ id: req.id, event }));
  if (req.method === 'train-rm')
    return runRewardModelTraining(p[0] as RewardModelJob, (event) =>
      port!.postMessage({ id: req.id, event }),
    );
  if (req.method.startsWith('rl.')) return dispatchRl(req);
  if (!engine) throw new Error('engine not open');
  switch (req.method) {
    case 'generate':
      return engine.generate(
        p[0] as Parameters<LocalEngine['generate']>[0],
        p[1] as Parameters<LocalEngine['generate']>[1],
        (index, result, stats) =>
          port!.postMessage({ id: req.id, event: { index, result, stats } }),
        p[2]
          ? (index, candidate, text) =>
              port!.postMessage({ id: req.id, event: { text: { index, candidate, text } } })
          : undefined,
      );
    case 'choiceLogprobs':
      return engine.choiceLogprobs(
        p[0] as Parameters<LocalEngine['choiceLogprobs']>[0],
        p[1] as string,
        p[2] as string[],
      );
    case 'promptLogprobs':
      return engine.promptLogprobs(p[0] as Parameters<LocalEngine['promptLogprobs']>[0]);
    case 'score':
      return engine.score(p[0] as unknown[], p[1] as string[], p[2] as number | undefined);
    case 'close':
      await engine.close();
      engine = undefined;
      return null;
    default:
      throw new Error(`unknown engine method ${req.method}`);
  }
}

/** An online-RL run (rl-run.ts): open, then generate / train in turn, save, close. */
async function dispatchRl(req: Request): Promise<unknown> {
  const p = req.params;
  if (req.method === 'rl.open') {
    rl = await RlRun.open(p[0] as RlJob);
    return { lora: rl.lora };
  }
  if (!rl) throw new Error('no RL run open');
  switch (req.method) {
    case 'rl.generate':
      return rl.generate(
        p[0] as Parameters<RlRun['generate']>[0],
        p[1] as Parameters<RlRun['generate']>[1],
      );
    case 'rl.train':
      return rl.train(
        p[0] as Parameters<RlRun['train']>[0],
        p[1] as number[],
        p[2] as number,
        (m) => port!.postMessage({ id: req.id, event: m }),
      );
    case 'rl.save':
      return rl.save(p[0] as string, p[1] as Parameters<RlRun['save']>[1]);
    case 'rl.close':
      await rl.close();
      rl = undefined;
      return null;
    default:
      throw new Error(`unknown engine method ${req.method}`);
  }
}

port.on('message', (req: Request) => {
  dispatch(req).then(
    (result) => port.postMessage({ id: req.id, ok: true, result } satisfies Response),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({
        id: req.id,
        ok: false,
        error: {
          name: err.name,
          message: err.message,
          stack: err.stack,
          ...(isPipelineError(err)
            ? { code: err.code, hint: err.hint, exitCode: err.exitCode }
            : {}),
        },
      } satisfies Response);
    },
  );
});
