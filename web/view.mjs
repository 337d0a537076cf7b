// Drawing for the demo page: the results' heatmap and the per-worker timeline.

/** Attack rate (the first of each result's 4 doubles) of a grid × grid sweep, on a canvas. */
export function drawHeatmap(canvas, out, grid) {
  canvas.width = canvas.height = grid;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(grid, grid);
  for (let i = 0; i < grid * grid; i++) {
    const a = Math.min(1, Math.max(0, out[i * 4])); // 0: no outbreak (blue) .. 1: everyone (red)
    img.data.set([Math.round(255 * a), Math.round(80 + 60 * (1 - Math.abs(2 * a - 1))), Math.round(255 * (1 - a)), 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
}

/**
 * One lane per worker, one block per batch, drawn from a WeftTrace's events (the same
 * trace-event JSON that "download trace" saves and Perfetto opens): batch slices (ph X,
 * cat batch) by track (tid: 0 the page's thread, N worker N), on the run's time span.
 */
export class Timeline {
  constructor(el) { this.el = el; this.reset(); }

  reset() {
    this.trace = null;
    this.t0 = performance.now();
    this.note('No batches yet.');
  }

  /** Draw `trace`'s batches from t0 (ms, performance.now()) on. */
  start(trace, t0) { this.trace = trace; this.t0 = t0; }

  /** A batch finished: redraw at most once a frame, however many batches finish. */
  changed() {
    this.frame ||= requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  batches() {
    return (this.trace?.events ?? []).filter(e => e.ph === 'X' && e.cat === 'batch');
  }

  workers() { return [...new Set(this.batches().map(b => b.tid))].sort((a, b) => a - b); }

  render() {
    const t0 = this.t0 * 1000, batches = this.batches();
    if (!batches.length) return;
    const end = Math.max(1, ...batches.map(b => b.ts + b.dur - t0));
    const lanes = this.workers().map(w => {
      const lane = document.createElement('div');
      lane.className = 'lane';
      lane.dataset.worker = w;
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = w === 0 ? 'page' : `worker ${w}`;
      const track = document.createElement('div');
      track.className = 'track';
      for (const b of batches.filter(x => x.tid === w)) {
        const block = document.createElement('div');
        block.className = 'batch';
        block.style.left = `${(100 * Math.max(0, b.ts - t0)) / end}%`;
        block.style.width = `${Math.max(0.3, (100 * b.dur) / end)}%`;
        block.title = `items ${b.args.first_index}–${b.args.first_index + b.args.end - b.args.begin - 1}: ${(b.dur / 1000).toFixed(1)} ms`;
        track.append(block);
      }
      lane.append(label, track);
      return lane;
    });
    this.el.replaceChildren(...lanes);
  }

  /** Instead of lanes: why there are none (e.g. every result came from the cache). */
  note(text) {
    const p = document.createElement('p');
    p.className = 'placeholder';
    p.textContent = text;
    this.el.replaceChildren(p);
  }
}
