# Python on Pyodide: sweep a C task on Web Workers with weft, cached in IndexedDB.
import base64
import struct
import time

import weft
from weft_page import archive, cache, db, export, fail, grid, jobs, reps, showProgress

weft.use_module("weft_tasks")   # the weft module the page loaded (weft's JS load())

n = grid * grid
fail_at = n // 2 if fail else -1   # 0 replicates: simulate_sir fails on that point
points = b"".join(
    struct.pack("<ddQi4x",                                    # examples/demo/sir.h
                0.05 + 0.55 * (i // grid) / max(1, grid - 1),  # infection rate
                0.05 + 0.45 * (i % grid) / max(1, grid - 1),   # recovery rate
                (i + 1) * 0x9E3779B97F4A7C15 % 2**64,          # seed
                0 if i == fail_at else reps)
    for i in range(n))
memory = weft.Memory(f"indexeddb:{db}") if cache else None

outcome = {}
if memory and archive is not None:   # ?archive=URL: entries exported by `weft cache export`
    outcome["imported"] = await memory.import_async(archive.to_bytes())
t = time.monotonic()
try:
    out = await weft.map_async("simulate_sir", points, item_size=32, out_size=32,
                               n_jobs=jobs, memory=memory,
                               progress=lambda p: showProgress(p.done, p.total))
    result = list(struct.unpack(f"<{4 * n}d", out))   # attack rate, peak, days, major
    outcome["result"] = result
    outcome["mean_attack"] = sum(result[0::4]) / n
except weft.WeftError as e:
    outcome["error"] = {"type": type(e).__name__, "index": e.index, "task": e.task,
                        "message": e.message, "code": e.code}
if memory and export:                # ?export=1: the cache as an archive, for `weft cache import`
    outcome["archive"] = base64.b64encode(await memory.export_async()).decode()
stats = memory.stats() if memory else {"hits": 0, "misses": n}
outcome.update(seconds=time.monotonic() - t, hits=stats["hits"], misses=stats["misses"])
outcome
