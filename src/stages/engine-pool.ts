import { type Device, Engine, type Quantize } from '../engine/index.js';

export interface ModelRef {
  path: string;
  adapter?: string;
  device?: Device;
  threads?: number;
  /** Weight-only quantization for generation/scoring/judging (float32 when absent). */
  quantize?: Quantize;
  quantizeBlockSize?: number;
}

// The same model quantized and not (or with another block size) are different engines.
const key = (m: ModelRef) =>
  JSON.stringify([
    m.path,
    m.adapter ?? null,
    m.device ?? 'cpu',
    m.threads ?? null,
    m.quantize ?? null,
    m.quantize ? (m.quantizeBlockSize ?? null) : null,
  ]);

/**
 * Engines (each a model in its own worker thread) shared by the stages of a run: the current
 * policy, frozen judges and the initial model for drift. An engine is opened on first use and
 * kept until the policy moves on (`release`) or the run ends (`closeAll`).
 */
export class EnginePool {
  private readonly engines = new Map<string, Promise<Engine>>();

  get(m: ModelRef): Promise<Engine> {
    const k = key(m);
    let e = this.engines.get(k);
    if (!e) {
      e = Engine.open(m.path, {
        adapter: m.adapter,
        device: m.device,
        threads: m.threads,
        quantize: m.quantize,
        quantizeBlockSize: m.quantizeBlockSize,
      });
      this.engines.set(k, e);
      e.catch(() => this.engines.delete(k));
    }
    return e;
  }

  async release(m: ModelRef): Promise<void> {
    const k = key(m);
    const e = this.engines.get(k);
    if (!e) return;
    this.engines.delete(k);
    await (await e.catch(() => undefined))?.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.engines.values()];
    this.engines.clear();
    await Promise.all(all.map(async (e) => (await e.catch(() => undefined))?.close()));
  }
}
