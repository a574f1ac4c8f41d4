import { type Device, Engine, type ModelEngine, type Quantize } from '../engine/index.js';
import { ServedPolicy, type ServerSettings } from '../remote/served-policy.js';

export interface ModelRef {
  path: string;
  adapter?: string;
  device?: Device;
  threads?: number;
  /** The policy on an OpenAI-compatible server (model.backend: openai); `path` is its local copy. */
  server?: ServerSettings;
  /** The policy's round, which names its adapter on a server. */
  round?: number;
  /** The checkpoint this is (a policy), for the ledger's record of where it was served. */
  checkpointId?: string;
  /** Weight-only quantization for generation/scoring/judging (float32 when absent). */
  quantize?: Quantize;
  quantizeBlockSize?: number;
}

/** Where a served model answers: its server, the base model's name, the adapter's. */
export type ServedIdentity = ServedPolicy['identity'];

// The same model quantized and not (or with another block size) are different engines.
const key = (m: ModelRef) =>
  JSON.stringify(
    m.server
      ? [m.path, m.adapter ?? null, 'served', m.server.baseUrl, m.server.model]
      : [
          m.path,
          m.adapter ?? null,
          m.device ?? 'cpu',
          m.threads ?? null,
          m.quantize ?? null,
          m.quantize ? (m.quantizeBlockSize ?? null) : null,
        ],
  );

/**
 * Engines shared by the stages of a run: the current policy, frozen judges and the initial model
 * for drift, each a model in its own worker thread or a policy on a server. An engine is opened on
 * first use and kept until the policy moves on (`release`) or the run ends (`closeAll`).
 */
export class EnginePool {
  private readonly engines = new Map<string, Promise<ModelEngine>>();

  /** `label` (the run id) names the adapters a served policy loads: `<label>-round-<r>-<hash>`. */
  constructor(
    private readonly label = 'rlaif',
    /** Hears each served policy opened (the runner records it in the ledger). */
    private readonly onServed?: (m: ModelRef, served: ServedIdentity) => void,
  ) {}

  get(m: ModelRef): Promise<ModelEngine> {
    const k = key(m);
    let e = this.engines.get(k);
    if (!e) {
      e = m.server
        ? ServedPolicy.open(m.server, {
            path: m.path,
            adapter: m.adapter,
            adapterLabel: `${this.label}-round-${m.round ?? 0}`,
          }).then((p) => {
            this.onServed?.(m, p.identity);
            return p;
          })
        : Engine.open(m.path, {
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
