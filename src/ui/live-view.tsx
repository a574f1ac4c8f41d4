// The Ink view of a running pipeline. It draws only the folded run state (run-state.ts); the
// runner reaches it through the sink that startLiveView returns and nothing else.

import {
  Fragment,
  createContext,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import { Box, Text, render, useInput, useStdin, useStdout } from 'ink';
import type { EventSink } from '../events.js';
import {
  currentRoundView,
  elapsedSeconds,
  latestMetricsRound,
  seriesValues,
  type RoundView,
  type RunState,
  type StageView,
  type StageViewStatus,
  type TrainView,
  type WarningView,
} from './run-state.js';
import {
  formatDuration,
  formatNumber,
  formatRate,
  formatReasons,
  oneLine,
  progressBar,
  sparkline,
} from './format.js';
import { colorEnabled, type Reporter } from './reporter.js';
import { createViewStore, type ViewStore } from './view-store.js';

export const STOPPING_TEXT = 'stopping after the batch in flight…';

export interface LiveViewProps {
  store: ViewStore;
  /** `q`: ask the runner to stop after the batch in flight. Called once. */
  onStop?: () => void;
  /** Ctrl+C (raw mode swallows the signal, so the view forwards it). */
  onInterrupt?: () => void;
  /** False under NO_COLOR: no color or style props at all. */
  color?: boolean;
  /** Clock for the elapsed time; the run state itself only knows event times. */
  now?: () => number;
}

type Tone = 'accent' | 'good' | 'warn' | 'bad' | 'dim' | 'strong';

const TONE_PROPS: Record<Tone, { color?: string; dimColor?: boolean; bold?: boolean }> = {
  accent: { color: 'cyan' },
  good: { color: 'green' },
  warn: { color: 'yellow' },
  bad: { color: 'red' },
  dim: { dimColor: true },
  strong: { bold: true },
};

const STAGE_ICON: Record<StageViewStatus, string> = {
  pending: '·',
  running: '▸',
  done: '✔',
  skipped: '↷',
  interrupted: '■',
  failed: '✖',
};

const STAGE_TONE: Record<StageViewStatus, Tone | undefined> = {
  pending: 'dim',
  running: 'accent',
  done: 'good',
  skipped: 'dim',
  interrupted: 'warn',
  failed: 'bad',
};

export function LiveView({
  store,
  onStop,
  onInterrupt,
  color = true,
  now = Date.now,
}: LiveViewProps) {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const [details, setDetails] = useState(false);
  const [stopping, setStopping] = useState(false);
  const [, setTick] = useState(0);
  const { isRawModeSupported } = useStdin();
  const { stdout } = useStdout();
  const width = Math.max(40, Math.min(160, stdout?.columns || 80));
  const running = state.status === 'running' || state.status === 'pending';

  // The elapsed clock moves even when no event arrives (a long prefill, a slow judge).
  useEffect(() => {
    if (!running) return;
    const id = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(id);
  }, [running]);

  // The layout depends on the terminal's size; Ink alone would only redraw the old tree.
  useEffect(() => {
    if (!stdout) return;
    const onResize = () => setTick((n) => n + 1);
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);

  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') {
        onInterrupt?.();
      } else if (input === 'q') {
        if (!stopping && running) {
          setStopping(true);
          onStop?.();
        }
      } else if (input === 'd') {
        setDetails((d) => !d);
      }
    },
    { isActive: isRawModeSupported === true },
  );

  const line = (s: string) => oneLine(s, width - 2);

  const round = currentRoundView(state) ?? state.rounds[state.rounds.length - 1] ?? null;
  const trainRound = round?.train ? round : lastWith(state, (r) => r.train != null);
  const pairsRound = round?.pairs ? round : lastWith(state, (r) => r.pairs != null);
  const metricsRounds = details
    ? state.rounds.filter((r) => Object.keys(r.metrics).length > 0)
    : [latestMetricsRound(state)].filter((r) => r != null);
  const pastRounds = state.rounds.filter(
    (r) => r !== round && r.round > 0 && r.status !== 'pending',
  );
  const sparkWidth = Math.max(10, Math.min(48, width - 36));
  const barWidth = Math.max(10, Math.min(30, width - 64));
  const cand = state.latestCandidate;
  const judg = state.latestJudgement;

  // Ink clears the whole screen, scrollback included, on every frame as tall as the terminal,
  // so the frame must fit: sections are laid out most important first, each taking what it can
  // of the rows left, and the least important give way on short terminals.
  const rows = stdout?.rows || 0;
  const fixed: Slot[] = [];
  fixed.push({ at: 0, height: 1, node: <Header state={state} now={now()} stopping={stopping} /> });
  if (stopping && running)
    fixed.push({ at: 1, height: 1, node: <T tone="warn">{STOPPING_TEXT}</T> });
  if (round)
    fixed.push({
      at: 3,
      height: 2 + round.stages.length,
      node: (
        <Box flexDirection="column" marginTop={1}>
          <T tone="strong">
            {line(`round ${round.round}${round.policy ? `  policy ${round.policy}` : ''}`)}
          </T>
          {round.stages.map((st) => (
            <StageLine key={st.index} st={st} barWidth={barWidth} details={details} />
          ))}
        </Box>
      ),
    });
  else if (state.status === 'pending')
    fixed.push({ at: 3, height: 1, node: <T tone="dim">waiting for the runner…</T> });
  const ended = !running;
  if (ended) fixed.push({ at: 9, height: 2, node: <EndLine state={state} /> });
  if (isRawModeSupported && running)
    fixed.push({
      at: 10,
      height: 1,
      node: (
        <T tone="dim">
          {stopping
            ? `d ${details ? 'hide' : 'show'} details · ctrl+c abort`
            : `q stop after this batch · d ${details ? 'hide' : 'show'} details · ctrl+c abort`}
        </T>
      ),
    });

  type Fit = (avail: number) => Slot | null;
  const warningsFit: Fit = (avail) => {
    const want = details ? state.warnings : state.warnings.slice(-3);
    const n = Math.min(want.length, avail - 2);
    if (!state.warnings.length || n < 1) return null;
    const shown = want.slice(-n);
    const hidden = state.warnings.length - shown.length;
    return {
      at: 8,
      height: 2 + n,
      node: (
        <Box flexDirection="column" marginTop={1}>
          <T tone="warn">
            {`warnings (${state.warningCount})${hidden > 0 ? ` · ${hidden} more${details ? '' : ' with d'}` : ''}`}
          </T>
          {shown.map((w) => (
            <Text key={w.key} wrap="truncate-end">
              <T tone={w.kind === 'nan' || w.kind === 'gate' ? 'bad' : 'warn'}>{'⚠ '}</T>
              {line(warningText(w))}
            </Text>
          ))}
        </Box>
      ),
    };
  };
  const trainFit: Fit = (avail) => {
    const height = details ? 5 : 4;
    if (!trainRound?.train || avail < height) return null;
    return {
      at: 5,
      height,
      node: (
        <TrainBlock
          round={trainRound.round}
          tr={trainRound.train}
          width={sparkWidth}
          details={details}
        />
      ),
    };
  };
  const latestFit: Fit = (avail) => {
    const heads = (cand ? 1 : 0) + (judg ? 1 : 0);
    if (!heads || avail < 1 + heads) return null;
    // Details: full texts share the rows left, the judgement's text after the candidate's.
    let left = avail - 1 - heads;
    const candText =
      details && cand ? clipText(cand.text, width, Math.max(0, left - (judg ? 1 : 0))) : null;
    left -= candText?.lines ?? 0;
    const judgText = details && judg ? clipText(judg.text, width, left) : null;
    const height = 1 + heads + (candText?.lines ?? 0) + (judgText?.lines ?? 0);
    return {
      at: 4,
      height,
      node: (
        <Box flexDirection="column" marginTop={1}>
          {cand ? (
            <Text wrap="truncate-end">
              <T tone="accent">candidate </T>
              {line(
                `${cand.promptId} #${cand.index} · ${cand.tokens} tok  ` +
                  (details ? '' : `“${cand.preview}”`),
              )}
            </Text>
          ) : null}
          {candText?.lines ? <Text wrap="wrap">{candText.text}</Text> : null}
          {judg ? (
            <Text wrap="truncate-end">
              <T tone="accent">judgement </T>
              {judg.parseError != null ? (
                <T tone="warn">
                  {line(`${judg.judge} on ${judg.promptId} · unparseable: ${judg.parseError}`)}
                </T>
              ) : (
                line(
                  `${judg.judge} on ${judg.promptId} · ${judgementVerdict(state)}  ` +
                    (details ? '' : `“${judg.preview}”`),
                )
              )}
            </Text>
          ) : null}
          {judgText?.lines ? <Text wrap="wrap">{judgText.text}</Text> : null}
        </Box>
      ),
    };
  };
  const pairsFit: Fit = (avail) => {
    if (!pairsRound?.pairs || avail < 2) return null;
    const p = pairsRound.pairs;
    return {
      at: 6,
      height: 2,
      node: (
        <Box marginTop={1}>
          <Text wrap="truncate-end">
            <T tone="accent">pairs </T>
            {line(
              `round ${pairsRound.round}: kept ${p.kept} · discarded ${p.discardedTotal}` +
                (p.discardedTotal ? ` (${formatReasons(p.discarded)})` : ''),
            )}
          </Text>
        </Box>
      ),
    };
  };
  const evalFit: Fit = (avail) => {
    const shown = metricsRounds.slice(-avail);
    if (!shown.length) return null;
    return {
      at: 7,
      height: shown.length,
      node: (
        <Box flexDirection="column">
          {shown.map((r) => (
            <Text key={r.round} wrap="truncate-end">
              <T tone="accent">eval </T>
              {line(`round ${r.round}: ${metricsText(r.metrics, details ? Infinity : 6)}`)}
            </Text>
          ))}
        </Box>
      ),
    };
  };
  const pastFit: Fit = (avail) => {
    const shown = (details ? pastRounds : pastRounds.slice(-2)).slice(-avail);
    if (!shown.length) return null;
    return {
      at: 2,
      height: shown.length,
      node: (
        <Box flexDirection="column">
          {shown.map((r) => (
            <T key={r.round} tone="dim">
              {line(pastRoundLine(r))}
            </T>
          ))}
        </Box>
      ),
    };
  };

  // Most important first; with details on, the full texts take whatever is left at the end.
  const fits = details
    ? [warningsFit, trainFit, pairsFit, evalFit, pastFit, latestFit]
    : [warningsFit, trainFit, latestFit, pairsFit, evalFit, pastFit];
  let avail = rows > 0 ? rows - 1 - fixed.reduce((a, f) => a + f.height, 0) : Infinity;
  const slots = [...fixed];
  for (const fit of fits) {
    const slot = avail > 0 ? fit(avail) : null;
    if (!slot) continue;
    slots.push(slot);
    avail -= slot.height;
  }
  slots.sort((a, b) => a.at - b.at);

  return (
    <ColorContext.Provider value={color}>
      <Box flexDirection="column" width={width}>
        {slots.map((s) => (
          <Fragment key={s.at}>{s.node}</Fragment>
        ))}
      </Box>
    </ColorContext.Provider>
  );
}

/** One section of the frame: where it goes (`at`, top to bottom) and how many rows it takes. */
interface Slot {
  at: number;
  height: number;
  node: ReactNode;
}

/** `text` cut to about `maxLines` rows of `width` columns, with an ellipsis if cut. */
export function clipText(
  text: string,
  width: number,
  maxLines: number,
): { text: string; lines: number } {
  if (maxLines <= 0) return { text: '', lines: 0 };
  const out: string[] = [];
  let used = 0;
  for (const l of text.split('\n')) {
    const rowsOf = Math.max(1, Math.ceil(l.length / width));
    if (used + rowsOf <= maxLines) {
      out.push(l);
      used += rowsOf;
      continue;
    }
    const room = maxLines - used;
    if (room > 0) out.push(l.slice(0, room * width - 1) + '…');
    else if (out.length) out[out.length - 1] = out[out.length - 1].slice(0, -1) + '…';
    return { text: out.join('\n'), lines: maxLines };
  }
  return { text: out.join('\n'), lines: used };
}

const ColorContext = createContext(true);

/** Text in a tone; plain text when color is off (NO_COLOR), so no style escapes at all. */
function T({ tone, children }: { tone?: Tone; children: ReactNode }) {
  const color = useContext(ColorContext);
  return (
    <Text wrap="truncate-end" {...(color && tone ? TONE_PROPS[tone] : {})}>
      {children}
    </Text>
  );
}

function Header({ state, now, stopping }: { state: RunState; now: number; stopping: boolean }) {
  const r = state.currentRound;
  const roundText = state.totalRounds
    ? `round ${r ?? 0}/${state.totalRounds}`
    : r != null
      ? `round ${r}`
      : '';
  const status =
    state.status === 'running' && stopping
      ? 'stopping'
      : state.status === 'pending'
        ? 'starting'
        : state.status;
  const tone: Tone =
    state.status === 'finished'
      ? 'good'
      : state.status === 'failed'
        ? 'bad'
        : state.status === 'running' && !stopping
          ? 'accent'
          : 'warn';
  return (
    <Text wrap="truncate-end">
      <T tone="strong">{state.name ?? 'pipeline'}</T>
      {roundText ? `  ${roundText}` : ''}
      {`  ${formatDuration(elapsedSeconds(state, now))}  `}
      <T tone={tone}>{status}</T>
      {state.resumed ? '  (resumed)' : ''}
    </Text>
  );
}

function StageLine({
  st,
  barWidth,
  details,
}: {
  st: StageView;
  barWidth: number;
  details: boolean;
}) {
  const head = `${STAGE_ICON[st.status]} ${st.kind.padEnd(9)}`;
  if (st.status === 'pending') return <T tone="dim">{head}</T>;
  if (st.status === 'skipped') return <T tone="dim">{`${head} skipped`}</T>;
  const count = st.total > 0 ? `${st.done}/${st.total}` : `${st.done}`;
  const unit = st.unit ? ` ${st.unit}` : '';
  const timing =
    st.status === 'running'
      ? st.eta != null
        ? `ETA ${formatDuration(st.eta)}`
        : ''
      : st.seconds != null
        ? `in ${formatDuration(st.seconds)}`
        : '';
  const counts = details && Object.keys(st.counts).length ? `  [${countsText(st.counts)}]` : '';
  return (
    <Text wrap="truncate-end">
      <T tone={STAGE_TONE[st.status]}>{head}</T>
      {` ${progressBar(st.done, st.total, barWidth)} ${count}${unit}  ${formatRate(st.rate)}  ${timing}`}
      {st.status === 'interrupted' || st.status === 'failed' ? (
        <T tone={STAGE_TONE[st.status]}>{` ${st.status}`}</T>
      ) : null}
      {counts}
    </Text>
  );
}

function TrainBlock({
  round,
  tr,
  width,
  details,
}: {
  round: number;
  tr: TrainView;
  width: number;
  details: boolean;
}) {
  const loss = seriesValues(tr.loss);
  const margin = seriesValues(tr.margin);
  const acc = seriesValues(tr.accuracy);
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text wrap="truncate-end">
        <T tone="accent">train </T>
        {`round ${round} step ${tr.step}/${tr.totalSteps}  acc ${formatNumber(tr.accuracy.last)}  grad ${formatNumber(tr.gradNorm)}  lr ${formatNumber(tr.learningRate)}`}
        {tr.nonFiniteSteps ? <T tone="bad">{`  ${tr.nonFiniteSteps} non-finite`}</T> : null}
      </Text>
      <Text wrap="truncate-end">
        {'  loss   '}
        <T tone="accent">{sparkline(loss, width)}</T>
        {` ${formatNumber(tr.loss.last)}${tr.loss.first != null ? ` (from ${formatNumber(tr.loss.first)})` : ''}`}
      </Text>
      <Text wrap="truncate-end">
        {'  margin '}
        <T tone="good">{sparkline(margin, width)}</T>
        {` ${formatNumber(tr.margin.last)}`}
      </Text>
      {details ? (
        <Text wrap="truncate-end">
          {'  acc    '}
          <T tone="good">{sparkline(acc, width)}</T>
          {` ${formatNumber(tr.accuracy.last)}`}
        </Text>
      ) : null}
    </Box>
  );
}

function EndLine({ state }: { state: RunState }) {
  if (state.status === 'running' || state.status === 'pending') return null;
  const took = `in ${formatDuration(state.seconds)}`;
  const text =
    state.status === 'finished'
      ? `✔ finished ${took}`
      : state.status === 'failed'
        ? `✖ failed ${took}${state.error ? `: ${state.error}` : ''}`
        : state.status === 'stopped-by-gate'
          ? `■ stopped by a gate ${took}`
          : `■ stopped ${took}`;
  const tone: Tone =
    state.status === 'finished' ? 'good' : state.status === 'failed' ? 'bad' : 'warn';
  return (
    <Box marginTop={1}>
      <T tone={tone}>{text}</T>
    </Box>
  );
}

function warningText(w: WarningView): string {
  return `${w.message}${w.count > 1 ? ` ×${w.count}` : ''}`;
}

function judgementVerdict(state: RunState): string {
  const j = state.latestJudgement!;
  if (j.score != null) return `score ${formatNumber(j.score)}`;
  if (j.verdict != null) return `verdict ${j.verdict}`;
  return 'no score';
}

function pastRoundLine(r: RoundView): string {
  const icon = r.status === 'done' ? '✔' : r.status === 'running' ? '▸' : '■';
  const parts = [`round ${r.round} ${icon} ${formatDuration(r.seconds)}`];
  if (r.pairs) parts.push(`pairs ${r.pairs.kept} kept/${r.pairs.discardedTotal} discarded`);
  if (r.train?.loss.last != null) parts.push(`loss ${formatNumber(r.train.loss.last)}`);
  const m = metricsText(r.metrics, 3);
  if (m) parts.push(m);
  return parts.join(' · ');
}

function metricsText(metrics: Record<string, number>, max: number): string {
  const entries = Object.entries(metrics);
  const shown = entries.slice(0, max).map(([k, v]) => `${k} ${formatNumber(v)}`);
  if (entries.length > max) shown.push(`+${entries.length - max} more`);
  return shown.join(' · ');
}

function countsText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function lastWith(state: RunState, pred: (r: RoundView) => boolean): RoundView | null {
  for (let i = state.rounds.length - 1; i >= 0; i--)
    if (pred(state.rounds[i])) return state.rounds[i];
  return null;
}

// ---- mounting -------------------------------------------------------------------------------

export interface StartLiveViewOptions {
  /** `q`: stop gracefully after the batch in flight. */
  onStop: () => void;
  /**
   * Ctrl+C. Ink keeps the terminal in raw mode, so no SIGINT is sent; by default the view
   * re-raises SIGINT on this process so the CLI's own handler sees what it would without Ink.
   */
  onInterrupt?: () => void;
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  /** Minimum time between re-renders. */
  throttleMs?: number;
}

export function startLiveView(opts: StartLiveViewOptions): Reporter {
  const store = createViewStore({ throttleMs: opts.throttleMs ?? 100 });
  const onInterrupt = opts.onInterrupt ?? (() => process.kill(process.pid, 'SIGINT'));
  const instance = render(
    <LiveView
      store={store}
      onStop={opts.onStop}
      onInterrupt={onInterrupt}
      color={colorEnabled(opts.env ?? process.env)}
    />,
    {
      // Ink spreads these over its defaults: an explicit undefined would erase process.stdout.
      stdout: opts.stdout ?? process.stdout,
      stdin: opts.stdin ?? process.stdin,
      stderr: opts.stderr ?? process.stderr,
      exitOnCtrlC: false,
      maxFps: Math.max(1, Math.round(1000 / Math.max(1, opts.throttleMs ?? 100))),
    },
  );
  let finished: Promise<void> | null = null;
  const sink: EventSink = (e) => {
    if (!finished) store.push(e);
  };
  return {
    sink,
    done() {
      finished ??= (async () => {
        store.flush();
        // Let React commit the flushed state before the final frame is drawn.
        await new Promise((r) => setImmediate(r));
        instance.unmount();
        await instance.waitUntilExit().catch(() => undefined);
        store.dispose();
      })();
      return finished;
    },
  };
}
