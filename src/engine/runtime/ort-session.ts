// The only module that imports onnxruntime-node. Everything above it sees `Tensor` and
// `OrtSession`; `session.run` is synchronous native work, so callers live in a worker thread.
import * as ort from 'onnxruntime-node';
import { PipelineError } from '../../core/errors.js';
import type { ElemType, TypedData } from '../graph/ir.js';

export type Device = 'cpu' | 'webgpu' | 'cuda';
export const DEVICES: readonly Device[] = ['cpu', 'webgpu', 'cuda'];

/** A tensor handed to or returned from a session (an ort.Tensor underneath). */
export interface Tensor {
  readonly type: string;
  readonly dims: readonly number[];
  /** Host data; throws for tensors that live on a GPU (see `location`). */
  readonly data: unknown;
  readonly location: string;
  /** Copy a device tensor to the host (a no-op promise for CPU tensors). */
  getData(releaseData?: boolean): Promise<unknown>;
  dispose(): void;
}

export function tensor(type: ElemType, data: TypedData, dims: readonly number[]): Tensor {
  return new ort.Tensor(type, data as Float32Array, dims) as unknown as Tensor;
}

export function hostData<T extends TypedData>(t: Tensor): T {
  return t.data as T;
}

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads (default: onnxruntime's choice, one per core). */
  threads?: number;
  /** 'basic' is required for float64 graphs (level 'all' fuses ops that have no float64 kernel). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Outputs to leave on the GPU between runs (KV cache), for the webgpu/cuda providers. */
  keepOnDevice?: string[];
  /**
   * onnxruntime's memory pattern planning (default on). Training graphs turn it off: the first
   * run fills the arena, then the planned block is allocated on top of it, which cost 5 GB of
   * peak memory on the 135M benchmark for no speed gain.
   */
  memPattern?: boolean;
  /** Write the model as onnxruntime optimized it to this path (to check which ops it fused). */
  optimizedModelPath?: string;
}

function envOptimization(): SessionOptions['optimization'] | undefined {
  const v = process.env.RLAIF_ORT_OPTIMIZATION;
  return v === 'disabled' || v === 'basic' || v === 'extended' || v === 'all' ? v : undefined;
}

export class OrtSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly device: Device,
  ) {}

  /**
   * `model` may carry `externalDir` (serialize.ts OnnxModelBytes): the folder its external
   * initializers are mapped from.
   */
  static async create(
    model: Uint8Array & { externalDir?: string },
    opts: SessionOptions = {},
  ): Promise<OrtSession> {
    const device = opts.device ?? 'cpu';
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [device],
      // RLAIF_ORT_OPTIMIZATION overrides the level when debugging a suspected optimizer problem.
      graphOptimizationLevel: opts.optimization ?? envOptimization() ?? 'all',
      interOpNumThreads: 1,
      executionMode: 'sequential',
    };
    if (opts.threads !== undefined) options.intraOpNumThreads = opts.threads;
    if (opts.memPattern === false) options.enableMemPattern = false;
    if (opts.optimizedModelPath) options.optimizedModelFilePath = opts.optimizedModelPath;
    const session: Record<string, string> = {};
    if (model.externalDir) session.model_external_initializers_file_folder_path = model.externalDir;
    if (process.env.RLAIF_DISABLE_PREPACKING === '1') session.disable_prepacking = '1';
    if (Object.keys(session).length) options.extra = { session };
    if (device !== 'cpu' && opts.keepOnDevice?.length) {
      options.preferredOutputLocation = Object.fromEntries(
        opts.keepOnDevice.map((n) => [n, 'gpu-buffer']),
      );
    }
    try {
      return new OrtSession(await ort.InferenceSession.create(model, options), device);
    } catch (e) {
      throw deviceError(device, e);
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, Tensor>, outputs?: string[]): Promise<Record<string, Tensor>> {
    const f = feeds as unknown as ort.InferenceSession.FeedsType;
    const res = outputs ? await this.session.run(f, outputs) : await this.session.run(f);
    return res as unknown as Record<string, Tensor>;
  }

  /**
   * Run with every output written into the given tensors (they may be the feeds' own buffers: an
   * in-place update). onnxruntime-node still returns a copy of each output; those are dropped.
   */
  async runInto(feeds: Record<string, Tensor>, outputs: Record<string, Tensor>): Promise<void> {
    const f = feeds as unknown as ort.InferenceSession.FeedsType;
    const o = outputs as unknown as ort.InferenceSession.FetchesType;
    const copies = await this.session.run(f, o);
    for (const t of Object.values(copies)) t.dispose();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function deviceError(device: Device, e: unknown): Error {
  const msg = e instanceof Error ? e.message : String(e);
  if (device === 'cuda') {
    return new PipelineError(
      {
        code: 'E_DEVICE_CUDA',
        message: `the CUDA execution provider could not be loaded: ${msg.split('\n')[0]}`,
        hint:
          'install the CUDA 12 provider libraries once with ' +
          '`node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12` ' +
          '(needs CUDA 12 + cuDNN 9 and network access), or use --device cpu or --device webgpu',
      },
      { cause: e },
    );
  }
  if (device === 'webgpu') {
    return new PipelineError(
      {
        code: 'E_DEVICE_WEBGPU',
        message: `the WebGPU execution provider could not start: ${msg.split('\n')[0]}`,
        hint: 'WebGPU needs a GPU with Vulkan drivers; use --device cpu on machines without one',
      },
      { cause: e },
    );
  }
  return new PipelineError(
    {
      code: 'E_ORT_SESSION',
      message: `onnxruntime could not create a session: ${msg.split('\n')[0]}`,
      hint: 'run with --debug and report this; it usually means a graph-building bug',
    },
    { cause: e },
  );
}
