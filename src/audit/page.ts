// The audit page: one self-contained HTML document (inline style and script, no external assets,
// works offline). Model text only ever enters the page through textContent, never as HTML, so an
// answer holding `<script>` shows as those characters. The script's nonce matches the server's
// Content-Security-Policy, which allows nothing else to run or load.

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #f6f6f4; }
header { display: flex; gap: 1em; align-items: center; padding: .6em 1em; background: #fff;
  border-bottom: 1px solid #ddd; position: sticky; top: 0; }
header h1 { font-size: 1.05em; margin: 0; }
#bar { flex: 1; height: .5em; background: #e4e4e0; border-radius: .25em; overflow: hidden; }
#bar > div { height: 100%; background: #3a7d44; width: 0; }
main { display: grid; grid-template-columns: 15em 1fr; gap: 1em; padding: 1em; }
nav ol { list-style: none; margin: 0; padding: 0; max-height: 80vh; overflow: auto; }
nav li { padding: .2em .4em; cursor: pointer; border-radius: .2em; font-size: .9em; }
nav li.current { background: #dfe8f5; } nav li.done::before { content: '✓ '; color: #3a7d44; }
nav li:not(.done)::before { content: '· '; }
.text { white-space: pre-wrap; background: #fff; border: 1px solid #ddd; border-radius: .3em;
  padding: .6em; overflow-wrap: anywhere; }
.answers { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.answers h3 { margin: .6em 0 .3em; }
.keys button { font-size: 1em; margin-right: .5em; padding: .35em .9em; }
.keys button.picked { outline: 3px solid #3a7d44; }
textarea { width: 100%; min-height: 3em; font: inherit; }
small, .meta { color: #666; }
details { margin-top: 1em; } details .text { margin: .3em 0 .8em; }
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
let items = [], at = 0;
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function progress() {
  const done = items.filter((i) => i.label).length;
  $('progress').textContent = done + ' / ' + items.length + ' labelled';
  $('bar').firstElementChild.style.width = (items.length ? (100 * done) / items.length : 100) + '%';
}
function renderList() {
  const ol = $('list');
  ol.replaceChildren();
  items.forEach((it, k) => {
    const li = el('li', 'round ' + it.round + ' #' + (it.position + 1), (it.label ? 'done' : '') + (k === at ? ' current' : ''));
    li.dataset.id = it.id;
    li.addEventListener('click', () => { at = k; render(); });
    ol.append(li);
  });
}
function render() {
  progress();
  renderList();
  const it = items[at];
  $('item').hidden = !it;
  $('empty').hidden = !!it;
  if (!it) return;
  $('where').textContent = 'round ' + it.round + ', item ' + (it.position + 1) + ' · stratum ' + it.stratum + ' · pair ' + it.pairId;
  const prompt = $('prompt');
  prompt.replaceChildren(...it.prompt.map((m) => el('div', (it.prompt.length > 1 ? m.role + ': ' : '') + m.content)));
  $('answer-a').textContent = it.answerA;
  $('answer-b').textContent = it.answerB;
  $('note').value = it.note || '';
  for (const b of document.querySelectorAll('.keys button')) b.classList.toggle('picked', b.dataset.label === it.label);
  $('labelled').textContent = it.label ? 'labelled ' + it.label + ' by ' + it.annotator + ' at ' + it.labelledAt : 'not labelled yet';
  const side = $('judge-side');
  side.replaceChildren(el('p', 'The judge chose answer ' + it.judgeChose + (it.principle ? ', under principle ' + it.principle : '') + '.'));
  if (it.critique) side.append(el('div', 'Critique: ' + it.critique, 'text'));
  for (const j of it.judges) {
    side.append(el('div', j.judge + ' (' + j.mode + ') on ' + j.about + (j.score !== null ? ', score ' + j.score : '') + (j.verdict ? ', verdict ' + j.verdict : '') + (j.principle ? ', principle ' + j.principle : ''), 'meta'));
    side.append(el('div', j.text, 'text'));
  }
}
async function label(value) {
  const it = items[at];
  if (!it) return;
  const annotator = $('annotator').value.trim();
  if (!annotator) { $('status').textContent = 'enter your name first'; $('annotator').focus(); return; }
  $('status').textContent = 'saving…';
  const res = await fetch('api/label', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ itemId: it.id, label: value, note: $('note').value, annotator }) });
  const body = await res.json();
  if (!res.ok) { $('status').textContent = 'not saved: ' + body.error.message; return; }
  items[at] = body.item;
  $('status').textContent = 'saved ' + value + ' for item ' + (it.position + 1);
  const next = items.findIndex((x, k) => k > at && !x.label);
  const first = items.findIndex((x) => !x.label);
  at = next >= 0 ? next : first >= 0 ? first : at;
  render();
}
document.addEventListener('keydown', (e) => {
  const typing = e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLInputElement;
  if (typing) { if (e.key === 'Escape') e.target.blur(); return; }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const keys = { a: 'A', b: 'B', t: 'tie', s: 'skip' };
  if (keys[e.key]) { e.preventDefault(); label(keys[e.key]); }
  else if (e.key === 'n') { e.preventDefault(); $('note').focus(); }
  else if (e.key === 'j' || e.key === 'ArrowRight') { at = Math.min(at + 1, items.length - 1); render(); }
  else if (e.key === 'k' || e.key === 'ArrowLeft') { at = Math.max(at - 1, 0); render(); }
});
for (const b of document.querySelectorAll('.keys button')) b.addEventListener('click', () => label(b.dataset.label));
(async () => {
  const res = await fetch('api/items');
  const body = await res.json();
  items = body.items;
  if (!$('annotator').value) $('annotator').value = body.annotator || '';
  const first = items.findIndex((x) => !x.label);
  at = first >= 0 ? first : 0;
  render();
  document.body.dataset.ready = 'true';
})();
`;

/** The page for run `runId`; `nonce` is the one the server's Content-Security-Policy allows. */
export function auditPage(runId: string, nonce: string): string {
  const id = runId.replace(/[^A-Za-z0-9_.-]/g, '?'); // run ids are plain; never trust that in HTML
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Audit · ${id}</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body>
<header><h1>Audit · ${id}</h1><div id="bar"><div></div></div><span id="progress"></span>
<label>Annotator <input id="annotator" size="12" autocomplete="name"></label></header>
<main>
<nav><ol id="list"></ol></nav>
<section>
<p id="empty" hidden>Nothing to audit: this run has no audit sample (add a stage with kind: audit).</p>
<div id="item" hidden>
<p class="meta" id="where"></p>
<h3>Prompt</h3><div id="prompt" class="text"></div>
<div class="answers">
<div><h3>Answer A</h3><div id="answer-a" class="text"></div></div>
<div><h3>Answer B</h3><div id="answer-b" class="text"></div></div>
</div>
<p class="keys">
<button data-label="A">A is better <small>[a]</small></button>
<button data-label="B">B is better <small>[b]</small></button>
<button data-label="tie">Tie <small>[t]</small></button>
<button data-label="skip">Skip <small>[s]</small></button>
</p>
<label>Note <small>[n] to write, Esc to leave; saved with the label</small>
<textarea id="note"></textarea></label>
<p class="meta"><span id="labelled"></span> · <span id="status" role="status"></span> ·
<small>[j]/[k] or ←/→ move between items</small></p>
<details><summary>The judge's side (open after labelling, to keep your verdict your own)</summary>
<div id="judge-side"></div></details>
</div>
</section>
</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`;
}
