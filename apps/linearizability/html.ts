// A self-contained HTML view of checked histories: one row per client, each operation a bar from
// its invocation to its return (an unknown outcome runs on to the end, dashed). For a violation it
// shows the partition that failed: the longest linearizable prefix in green (numbered in
// linearization order), the operations that could not come next in orange, the operation whose
// return could not be met in red, and a red line at that return: no linearization gets past it.
import type { History, Operation } from './history.ts';
import type { CheckResult } from './checker.ts';
import type { AnyModel } from './models.ts';

export interface HtmlSection {
  title: string;
  model: AnyModel;
  history: History<unknown, unknown>;
  result: CheckResult;
}

/** Operations drawn at most per section (a huge linearizable history is cut, and says so). */
const MAX_DRAWN = 3000;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function renderSection(section: HtmlSection, index: number): string {
  const { model, history, result } = section;
  const v = result.violation;
  let ops: Operation<unknown, unknown>[] = history.operations;
  if (v !== undefined && v.partition !== null && model.partitionKey !== undefined) {
    ops = ops.filter((op) => model.partitionKey!(op.input) === v.partition);
  }
  const cut = ops.length > MAX_DRAWN;
  if (cut) ops = ops.slice(0, MAX_DRAWN);

  const prefixRank = new Map<number, number>();
  v?.prefix.forEach((id, k) => prefixRank.set(id, k + 1));
  const pending = new Set(v?.pending.map((p) => p.id) ?? []);

  // Time axis: distinct times in rank order, so that dense and sparse stretches both stay legible.
  const times = new Set<number>();
  for (const op of ops) {
    times.add(op.invokeTime);
    if (op.returnTime !== null) times.add(op.returnTime);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const rank = new Map(sorted.map((t, k) => [t, k]));
  const step = 14;
  const left = 110;
  const end = left + (sorted.length + 1) * step;
  const x = (t: number | null): number => (t === null ? end : left + rank.get(t)! * step);

  const clients = [...new Set(ops.map((op) => String(op.client)))].sort((a, b) => {
    const na = Number(a);
    const nb = Number(b);
    return Number.isNaN(na) || Number.isNaN(nb) ? a.localeCompare(b) : na - nb;
  });
  const row = new Map(clients.map((c, k) => [c, k]));
  const rowHeight = 26;
  const top = 24;
  const height = top + clients.length * rowHeight + 10;
  const width = end + 20;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="11">`);
  clients.forEach((c, k) => {
    const y = top + k * rowHeight;
    parts.push(`<text x="4" y="${y + 16}">client ${esc(c)}</text>`);
    parts.push(`<line x1="${left}" y1="${y + rowHeight - 2}" x2="${end}" y2="${y + rowHeight - 2}" stroke="#eee"/>`);
  });
  for (const op of ops) {
    const y = top + row.get(String(op.client))! * rowHeight + 3;
    const x0 = x(op.invokeTime);
    const x1 = Math.max(x(op.returnTime), x0 + 6);
    const output = op.returnTime === null ? undefined : op.output;
    const text = model.describeOperation(op.input, output);
    const k = prefixRank.get(op.id);
    let fill = '#cfd8dc';
    let label = '';
    if (v !== undefined && op.id === v.deadline) fill = '#ef5350';
    else if (pending.has(op.id)) fill = '#ffb74d';
    else if (k !== undefined) {
      fill = '#81c784';
      label = `${k}`;
    }
    const dash = op.returnTime === null ? ' stroke-dasharray="4 3" fill-opacity="0.45"' : '';
    const tip = `#${op.id} client ${op.client}: ${text}  [${op.invokeTime}..${op.returnTime ?? '?'}]` +
      (k !== undefined ? `  (linearized ${k}th)` : '') + (op.line !== undefined ? `  line ${op.line}` : '');
    parts.push(`<g><title>${esc(tip)}</title><rect x="${x0}" y="${y}" width="${x1 - x0}" height="${rowHeight - 8}" rx="3" fill="${fill}" stroke="#546e7a"${dash}/>` +
      `<text x="${x0 + 3}" y="${y + 13}">${esc((label || text).slice(0, Math.max(1, Math.floor((x1 - x0 - 4) / 7))))}</text></g>`);
  }
  if (v !== undefined) {
    const deadlineOp = history.operations[v.deadline]!;
    const xd = x(deadlineOp.returnTime);
    parts.push(`<line x1="${xd}" y1="4" x2="${xd}" y2="${height - 4}" stroke="#c62828" stroke-width="2"/>`);
    parts.push(`<text x="${xd + 4}" y="14" fill="#c62828">no linearization past here</text>`);
  }
  parts.push('</svg>');

  const verdictClass = result.verdict === 'linearizable' ? 'ok' : result.verdict === 'not-linearizable' ? 'bad' : 'unknown';
  const caption = v !== undefined
    ? `${v.partition === null ? '' : `key ${esc(JSON.stringify(v.partition))}: `}${ops.length} operations; green: a longest linearizable prefix (in order), orange: operations that could come next, red: the operation whose return no linearization reaches.`
    : `${ops.length} operations${cut ? ` (the first ${MAX_DRAWN} drawn)` : ''}.`;
  return `<section id="s${index}">
<h2>${esc(section.title)}: <span class="${verdictClass}">${esc(result.verdict)}</span></h2>
${v !== undefined ? `<pre>${esc(v.text)}</pre>` : ''}
<p>${caption} Hover over a bar for details.</p>
<div class="timeline">${parts.join('\n')}</div>
</section>`;
}

/** One HTML document (no external resources) with a section per checked history. */
export function renderHtml(sections: HtmlSection[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Linearizability check</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #263238; }
pre { background: #f5f5f5; padding: 0.8em; overflow-x: auto; }
.timeline { overflow-x: auto; border: 1px solid #ddd; }
.ok { color: #2e7d32; } .bad { color: #c62828; } .unknown { color: #ef6c00; }
</style></head><body>
<h1>Linearizability check</h1>
${sections.map(renderSection).join('\n')}
</body></html>
`;
}
