// A damaged disk cache read from Node (issue 12): every kind of damage to an entry --
// truncated, a flipped value byte, a header that claims 4 GiB, an empty file, a link to
// a file outside the cache, a FIFO, a folder -- is a miss that is recomputed with the
// right value, never a crash or a hang, on both backends; nothing outside is touched.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { tempDir } from './helpers.mjs';

const reader = join(dirname(fileURLToPath(import.meta.url)), 'damaged_reader.mjs');
const N = 40;

function read(dir, backend) {
  const r = spawnSync(process.execPath, [reader, dir, backend, String(N)], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.signal, null, `the ${backend} reader was killed (${r.signal}): a hang? ${r.stderr}`);
  assert.equal(r.status, 0, `the ${backend} reader failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function entries(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...entries(p));
    else if (name.endsWith('.wfe')) out.push(p);
  }
  return out.sort();
}

test('damaged disk entries are misses in Node, recomputed right, on both backends', async t => {
  const base = tempDir(t), dir = join(base, 'cache'), outside = join(base, 'outside.txt');
  writeFileSync(outside, 'not weft\'s');
  const clean = read(dir, 'sequential');
  assert.equal(clean.misses, N);
  const files = entries(join(dir, 'pi_darts'));
  assert.equal(files.length, N);

  const damage = [
    f => truncateSync(f, 10),
    f => { const b = readFileSync(f); b[b.length - 1] ^= 0xff; writeFileSync(f, b); },
    f => { // a 24-byte entry whose header claims 4 GiB
      const b = Buffer.alloc(24); b.write('WEFTENT\x1a', 'latin1'); b.writeUInt16LE(1, 8); b.writeUInt32LE(0xfffffff8, 12);
      writeFileSync(f, b);
    },
    f => writeFileSync(f, ''),
    f => { rmSync(f); symlinkSync(outside, f); },
    f => { rmSync(f); const r = spawnSync('mkfifo', [f]); if (r.status !== 0) t.diagnostic('mkfifo failed: FIFO case skipped'); },
    f => { rmSync(f); mkdirSync(f); },
  ];
  damage.forEach((hurt, i) => hurt(files[i]));

  const first = read(dir, 'sequential');
  assert.equal(first.out, clean.out);
  assert.equal(first.misses, damage.length);
  assert.equal(first.hits, N - damage.length);
  const second = read(dir, 'workers');
  assert.equal(second.out, clean.out);
  assert.ok(second.misses <= 1, `only the folder at an entry's name stays a miss: ${second.misses}`);
  assert.equal(readFileSync(outside, 'utf8'), 'not weft\'s');
});
