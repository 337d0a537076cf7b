// A weft cache in IndexedDB: one database per cache name, one record per entry holding
// the entry's native bytes (docs/cache-format.md §3) under "task/keyhex". Every call is
// one transaction, so a batch of writes lands whole or not at all (a quota error aborts
// it). Works wherever `indexedDB` exists (pages and workers). The entry bytes are made
// and checked by the C core through a MemoryCodec (../memory-codec.mjs).

const ENTRIES = 'entries'; // {id: 'task/keyhex', task, bytes: ArrayBuffer}
const TASKS = 'tasks';     // {task, version}: the version a task's entries were made with

const done = req => new Promise((ok, fail) => { req.onsuccess = () => ok(req.result); req.onerror = () => fail(req.error); });

export class IdbStore {
  /**
   * @param {string} name  the cache's name (database "weft:NAME")
   * @param {import('../memory-codec.mjs').MemoryCodec} codec
   */
  static async open(name, codec, idb = globalThis.indexedDB) {
    if (typeof name !== 'string' || name === '') throw new TypeError('weft: an IndexedDB cache needs a non-empty name (indexeddb:NAME)');
    if (!idb) throw codec.error('WEFT_ENOSYS', `weft: IndexedDB is not available here: the cache 'indexeddb:${name}' needs a browser (or a worker) with indexedDB`);
    const req = idb.open(`weft:${name}`, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore(ENTRIES, { keyPath: 'id' }).createIndex('task', 'task');
      db.createObjectStore(TASKS, { keyPath: 'task' });
    };
    let db;
    try {
      db = await done(req);
    } catch (e) {
      throw codec.error('WEFT_ESYS', `weft: cannot open the IndexedDB cache '${name}': ${e?.message || e}`);
    }
    db.onversionchange = () => db.close(); // let another tab delete or upgrade it
    return new IdbStore(db, name, codec);
  }

  constructor(db, name, codec) {
    this.db = db;
    this.name = name;
    this.codec = codec;
  }

  /** One transaction; resolves with fn's result once it committed, rejects when it aborted. */
  tx(mode, fn, what) {
    return new Promise((ok, fail) => {
      let t, result;
      try {
        t = this.db.transaction([ENTRIES, TASKS], mode);
        result = fn(t.objectStore(ENTRIES), t.objectStore(TASKS), t);
      } catch (e) {
        try { t?.abort(); } catch {}
        return fail(e instanceof TypeError ? e : this.failure(e, what));
      }
      t.oncomplete = () => Promise.resolve(result).then(ok, fail);
      t.onabort = () => fail(this.failure(t.error, what));
    });
  }

  failure(e, what) {
    const quota = e?.name === 'QuotaExceededError';
    const why = quota ? "the browser's storage quota for this site is used up (clear some of the cache, or ask for more with navigator.storage.persist())"
      : (e?.message || e?.name || 'the transaction was aborted');
    return this.codec.error('WEFT_ESYS', `weft: ${what} in the IndexedDB cache '${this.name}' failed, nothing of it was kept: ${why}`);
  }

  /** The records' bytes (Uint8Array, or undefined when absent) for ids "task/keyhex", in one read. */
  getMany(ids) {
    const out = new Array(ids.length);
    return this.tx('readonly', entries => {
      ids.forEach((id, i) => { entries.get(id).onsuccess = ev => { out[i] = ev.target.result && new Uint8Array(ev.target.result.bytes); }; });
      return out;
    }, `reading ${ids.length} entries`);
  }

  /** Store entries [{task, key, version, bytes}] in one transaction: all of them or none. */
  putMany(list) {
    return this.tx('readwrite', (entries, tasks) => {
      const versions = new Map(list.map(e => [e.task, e.version]));
      for (const [task, version] of versions) tasks.put({ task, version });
      for (const e of list) entries.put({ id: `${e.task}/${e.key}`, task: e.task, bytes: e.bytes.slice().buffer });
      return list.length;
    }, `storing ${list.length} entries`);
  }

  /** Remove every entry, or one task's. */
  clear(task) {
    return this.tx('readwrite', (entries, tasks) => {
      if (task === undefined) return void (entries.clear(), tasks.clear());
      if (typeof task !== 'string' || !task) throw new TypeError('weft: clear(task): task must be a non-empty string');
      entries.delete(IDBKeyRange.bound(`${task}/`, `${task}/\uffff`));
      tasks.delete(task);
    }, task === undefined ? 'clearing' : `clearing '${task}'`);
  }

  /** Visit every record (of one task): fn({id, task, bytes}). */
  each(task, fn, mode = 'readonly') {
    return this.tx(mode, entries => {
      const req = (task === undefined ? entries : entries.index('task')).openCursor(task === undefined ? null : IDBKeyRange.only(task));
      req.onsuccess = () => { const c = req.result; if (c) fn(c.value), c.continue(); };
    }, 'listing');
  }

  /** {entries, bytes, tasks: {name: {entries, bytes, version}}}. */
  async stats() {
    const s = { entries: 0, bytes: 0, tasks: {} };
    const versions = await this.tx('readonly', (_, tasks) => done(tasks.getAll()), 'reading the versions');
    await this.each(undefined, r => {
      const t = (s.tasks[r.task] ??= { entries: 0, bytes: 0, version: '' });
      t.entries++, t.bytes += r.bytes.byteLength, s.entries++, s.bytes += r.bytes.byteLength;
    });
    for (const v of versions) if (s.tasks[v.task]) s.tasks[v.task].version = v.version;
    return s;
  }

  /** An archive (docs §7) of every valid entry (or one task's), as `weft cache export` writes. */
  async export(task) {
    const good = [];
    await this.each(task, r => {
      const bytes = new Uint8Array(r.bytes);
      if (this.codec.describe(bytes, r.task, r.id.slice(r.task.length + 1))) good.push(bytes);
    });
    return this.codec.archiveOf(good).buffer;
  }

  /**
   * Store an archive's entries (one transaction): each is checked by the core; a corrupt
   * one is skipped, and so is a stale one (made with another version of its task than
   * this cache keeps). {imported, skipped, corrupt, stale}. A damaged archive stores the
   * entries before the damage, then throws.
   */
  async import(archive) {
    const bytes = new Uint8Array(archive instanceof ArrayBuffer ? archive : archive.buffer, archive.byteOffset ?? 0, archive.byteLength);
    const r = this.codec.readArchive(bytes);
    const kept = await this.tx('readonly', (_, tasks) => done(tasks.getAll()), 'reading the versions');
    const version = new Map(kept.map(v => [v.task, v.version]));
    const fresh = r.entries.filter(e => (version.get(e.task) ?? (version.set(e.task, e.version), e.version)) === e.version);
    if (fresh.length) await this.putMany(fresh);
    const stale = r.entries.length - fresh.length + (r.skipped - r.corrupt);
    const stats = { imported: fresh.length, skipped: r.corrupt + stale, corrupt: r.corrupt, stale };
    if (r.error) throw Object.assign(r.error, { stats });
    return stats;
  }

  close() { this.db.close(); }
}
