// The optimizer step as its own small ONNX graph, run once per trainable tensor with its outputs
// written over its inputs. The update is AdamW of adamw.ts on grad · grad_scale, where grad_scale
// is the clipping coefficient the step graph computed from the global gradient norm.
//
// Why not inside the step graph: onnxruntime-node copies every graph output into a new JS buffer
// after the run, so a step graph returning updated parameters and both moments held them three
// times at its end (onnxruntime's buffers, the copies, and the inputs): 3 GB of a full fine-tune's
// 10 GB peak on the 135M benchmark. Here onnxruntime writes into the caller's buffers (inputs and
// outputs alias: every read of p, m or v is an ancestor of the node writing it, and all reads are
// elementwise at the same index), and only one tensor's copies exist at a time.
import { GraphBuilder } from '../../graph/builder.js';
import { toOnnxBytes } from '../../graph/serialize.js';
import { OrtSession, tensor, type Device } from '../../runtime/ort-session.js';
import { buildAdamWUpdate, validateAdamW, type AdamWHyper } from './adamw.js';

export type AdamWConfig = Omit<AdamWHyper, 'lr' | 'step'>;

/** Flat float32 state of one trainable tensor; the step updates param, m and v in place. */
export interface AdamWState {
  param: Float32Array;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/**
 * inputs  param, grad, exp_avg, exp_avg_sq [n] (any tensor, flattened), grad_scale, learning_rate,
 *         step (1-based) scalars
 * outputs updated.param, updated.exp_avg, updated.exp_avg_sq [n]
 */
export function buildAdamWStepGraph(hp: AdamWConfig, float: 'float32' | 'float64' = 'float32') {
  const b = new GraphBuilder('adamw_step', float);
  const param = b.input('param', float, ['n']);
  const grad = b.input('grad', float, ['n']);
  const m = b.input('exp_avg', float, ['n']);
  const v = b.input('exp_avg_sq', float, ['n']);
  const scale = b.input('grad_scale', float, []);
  const lr = b.input('learning_rate', float, []);
  const step = b.input('step', float, []);
  const [next] = buildAdamWUpdate(b, [{ param, grad: b.mul(grad, scale), m, v }], {
    lr,
    step,
    ...hp,
  });
  b.output(next.param, 'updated.param', float, ['n']);
  b.output(next.m, 'updated.exp_avg', float, ['n']);
  b.output(next.v, 'updated.exp_avg_sq', float, ['n']);
  return b.build();
}

export class AdamWSession {
  private constructor(private readonly session: OrtSession) {}

  static async create(
    hp: AdamWConfig,
    opts: { threads?: number; device?: Device } = {},
  ): Promise<AdamWSession> {
    validateAdamW(hp);
    return new AdamWSession(
      await OrtSession.create(toOnnxBytes(buildAdamWStepGraph(hp)), {
        threads: opts.threads,
        device: opts.device,
      }),
    );
  }

  /** One AdamW step of one tensor, in place. */
  async step(s: AdamWState, c: { gradScale: number; lr: number; step: number }): Promise<void> {
    const n = [s.param.length];
    const scalar = (x: number) => tensor('float32', Float32Array.of(x), []);
    await this.session.runInto(
      {
        param: tensor('float32', s.param, n),
        grad: tensor('float32', s.grad, n),
        exp_avg: tensor('float32', s.m, n),
        exp_avg_sq: tensor('float32', s.v, n),
        grad_scale: scalar(c.gradScale),
        learning_rate: scalar(c.lr),
        step: scalar(c.step),
      },
      {
        'updated.param': tensor('float32', s.param, n),
        'updated.exp_avg': tensor('float32', s.m, n),
        'updated.exp_avg_sq': tensor('float32', s.v, n),
      },
    );
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
