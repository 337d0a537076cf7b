#!/usr/bin/env python3
"""Check a weft trace (Chrome trace-event JSON) the way a viewer would read it.

  check_trace.py TRACE.json [--workers N] [--processes] [--nested LEVELS] [--cache] [--retry]
                 [--mpi RANKS [--clock-slack US]]

A schema check of every event (written here: Perfetto's trace processor is not in the
Debian, npm or PyPI package lists this project installs from, see docs/tracing.md), then:
the level-0 batches run on at most N tracks, each a named track of its own (worker
processes: their own pids, named); slices on one track nest properly in time; every flow
start has exactly one end, which lies in a batch of a nested call, and starts inside a
slice of the task that opened it; each nested call's slice lies inside its opening task.
MPI: the top-level calls are rank 0's, their batches ran on every one of the RANKS ranks,
each rank a process named with its rank and host and a track named likewise, each other
rank with one trace_clock event (its clock's offset_us and error_us), and every such batch
lies inside its call's slice (one clock; outside by at most --clock-slack us plus the
rank's error_us, for an offset measured by pings).
Exit status 0 when all holds; the failures are printed otherwise."""
import argparse
import collections
import json
import re
import sys

PHASES = {"X", "M", "i", "C", "s", "f"}
METADATA = {"process_name", "thread_name", "trace_clock"}
failures = []


def fail(msg):
    failures.append(msg)


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def schema(ev, k):
    """Every field a viewer needs, of the right type, per phase."""
    where = f"event {k} ({json.dumps(ev)[:120]})"
    if not isinstance(ev, dict):
        return fail(f"{where}: not an object")
    ph = ev.get("ph")
    if ph not in PHASES:
        return fail(f"{where}: ph {ph!r} not one of {sorted(PHASES)}")
    if not isinstance(ev.get("name"), str) or not ev["name"]:
        fail(f"{where}: no name")
    for f in ("pid", "tid"):
        if not isinstance(ev.get(f), int) or isinstance(ev.get(f), bool):
            fail(f"{where}: {f} is not an integer")
    if "args" in ev and not isinstance(ev["args"], dict):
        fail(f"{where}: args is not an object")
    if ph == "M":
        if ev["name"] not in METADATA:
            fail(f"{where}: unknown metadata {ev['name']}")
        if ev["name"] != "trace_clock" and not isinstance(ev.get("args", {}).get("name"), str):
            fail(f"{where}: metadata without args.name")
        return
    if not num(ev.get("ts")) or ev["ts"] < 0:
        fail(f"{where}: ts missing or negative")
    if ph == "X" and (not num(ev.get("dur")) or ev["dur"] < 0):
        fail(f"{where}: X without a dur >= 0")
    if ph == "X" and ev.get("cat") not in ("call", "batch", "task"):
        fail(f"{where}: X of unknown category {ev.get('cat')!r}")
    if ph in ("s", "f") and not isinstance(ev.get("id"), int):
        fail(f"{where}: flow without an integer id")
    if ph == "f" and ev.get("bp") != "e":
        fail(f"{where}: flow end without bp 'e'")
    if ph == "i" and ev.get("s") not in ("g", "p", "t"):
        fail(f"{where}: instant without scope s")
    if ph == "C" and (not ev.get("args") or not all(num(v) for v in ev["args"].values())):
        fail(f"{where}: counter without numeric args")


def contains(outer, ts, end=None):
    end = ts if end is None else end
    return outer["ts"] <= ts and end <= outer["ts"] + outer["dur"]


def check_mpi(a, events, procs, names, calls, top):
    """Every rank's batches are in the trace, on its own named track, on rank 0's clock."""
    rank_of, host_of = {}, {}
    for pid, name in procs.items():
        m = re.fullmatch(r"weft mpi rank (\d+) \(pid \d+ on (.+)\)", name)
        if m:
            rank_of[pid], host_of[pid] = int(m.group(1)), m.group(2)
    if sorted(rank_of.values()) != list(range(a.mpi)):
        fail(f"mpi: processes named for ranks {sorted(rank_of.values())}, expected 0..{a.mpi - 1}")
    root = [pid for pid, r in rank_of.items() if r == 0]
    # each other rank says how far its clock may be off rank 0's; its batches may stray that far
    clocks = collections.defaultdict(list)
    for ev in events:
        if ev["ph"] == "M" and ev["name"] == "trace_clock" and ev["pid"] in rank_of and ev["pid"] not in root:
            clocks[ev["pid"]].append(ev.get("args", {}))
    error = {}
    for pid, r in rank_of.items():
        if r == 0:
            continue
        got = clocks.get(pid, [])
        if len(got) != 1 or not num(got[0].get("offset_us")) or not num(got[0].get("error_us")) or got[0]["error_us"] < 0:
            fail(f"mpi: rank {r} has {len(got)} trace_clock events {got}, expected one with offset_us and error_us >= 0")
        else:
            error[pid] = got[0]["error_us"]
    ran = set()
    for b in top:
        c = calls.get(b["args"]["call"])
        if b["pid"] not in rank_of:
            fail(f"mpi: batch {b['name']} in a process that is no rank: {b['pid']}")
            continue
        ran.add(rank_of[b["pid"]])
        want = f"rank {rank_of[b['pid']]} on {host_of[b['pid']]}"
        if names.get((b["pid"], b["tid"])) != want:
            fail(f"mpi: batch {b['name']} on track {names.get((b['pid'], b['tid']))!r}, expected {want!r}")
        if c is None or c["pid"] not in root:
            fail(f"mpi: batch {b['name']} of call {b['args']['call']}, which has no slice on rank 0")
        else:
            slack = a.clock_slack + error.get(b["pid"], 0)
            if not (c["ts"] - slack <= b["ts"] and b["ts"] + b["dur"] <= c["ts"] + c["dur"] + slack):
                fail(f"mpi: batch {b['name']} of rank {rank_of[b['pid']]} at {b['ts']}+{b['dur']} us lies outside "
                     f"its call {c['ts']}+{c['dur']} us by more than {slack:g} us (the ranks' clocks disagree)")
    if ran != set(range(a.mpi)):
        fail(f"mpi: top-level batches ran on ranks {sorted(ran)}, expected all of 0..{a.mpi - 1}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--processes", action="store_true")
    ap.add_argument("--nested", type=int, default=0, help="deepest call level expected")
    ap.add_argument("--cache", action="store_true")
    ap.add_argument("--retry", action="store_true")
    ap.add_argument("--mpi", type=int, default=0, help="ranks of an mpi trace")
    ap.add_argument("--clock-slack", type=float, default=0.0)
    a = ap.parse_args()
    try:
        with open(a.trace) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"FAIL: {a.trace} is not valid JSON: {e}")
        return 1
    events = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not isinstance(events, list) or not events:
        print("FAIL: no traceEvents list")
        return 1
    for k, ev in enumerate(events):
        schema(ev, k)
    if failures:
        print("\n".join("FAIL: " + m for m in failures[:20]))
        return 1

    names = {}
    for ev in events:
        if ev["ph"] == "M" and ev["name"] == "thread_name":
            key = (ev["pid"], ev["tid"])
            if key in names and names[key] != ev["args"]["name"]:
                fail(f"track {key} named twice: {names[key]} and {ev['args']['name']}")
            names[key] = ev["args"]["name"]
    procs = {ev["pid"]: ev["args"]["name"] for ev in events if ev["ph"] == "M" and ev["name"] == "process_name"}
    slices = [ev for ev in events if ev["ph"] == "X"]
    calls = {ev["args"]["call"]: ev for ev in slices if ev["cat"] == "call"}
    batches = [ev for ev in slices if ev["cat"] == "batch"]
    tasks = [ev for ev in slices if ev["cat"] == "task"]

    # every track that holds an event is named (a thread name; a process name per pid)
    for ev in events:
        if ev["ph"] in ("X", "i") and (ev["pid"], ev["tid"]) not in names:
            fail(f"event {ev['name']} on an unnamed track {(ev['pid'], ev['tid'])}")
        if ev["ph"] != "M" and ev["pid"] not in procs:
            fail(f"event {ev['name']} in an unnamed process {ev['pid']}")
    # one name per worker: two tracks of one process never share a name
    seen = collections.Counter((pid, name) for (pid, _), name in names.items())
    for (pid, name), n in seen.items():
        if n > 1:
            fail(f"{n} tracks named {name!r} in process {pid}")

    # level-0 batches: each call's on at most `workers` tracks (threads: the calling
    # thread is one of them), in worker processes for the processes backend
    top = [b for b in batches if b["args"]["level"] == 0]
    if not top:
        fail("no batch of a top-level call")
    per_call = collections.defaultdict(set)
    for b in top:
        per_call[b["args"]["call"]].add((b["pid"], b["tid"]))
    for cid, tracks in per_call.items():
        if a.workers and len(tracks) > a.workers:
            fail(f"call {cid}: level-0 batches on {len(tracks)} tracks, expected at most {a.workers}")
        if a.processes:
            caller = calls.get(cid)
            if caller is None or any(pid == caller["pid"] for pid, _ in tracks):
                fail(f"processes: call {cid} ran batches in the calling process (or has no call slice)")
            for pid, _ in tracks:
                if not procs.get(pid, "").startswith("weft worker process"):
                    fail(f"process {pid} is not named as a worker: {procs.get(pid)!r}")

    if a.mpi:
        check_mpi(a, events, procs, names, calls, top)

    # nesting on each track: sort by start, longer first; a stack of open slices
    by_track = collections.defaultdict(list)
    for s in slices:
        by_track[(s["pid"], s["tid"])].append(s)
    for key, lst in by_track.items():
        lst.sort(key=lambda s: (s["ts"], -s["dur"]))
        stack = []
        for s in lst:
            while stack and stack[-1]["ts"] + stack[-1]["dur"] <= s["ts"] and not (
                    stack[-1]["dur"] == 0 and stack[-1]["ts"] == s["ts"]):
                stack.pop()
            if stack and not contains(stack[-1], s["ts"], s["ts"] + s["dur"]):
                fail(f"track {key}: {s['name']} overlaps {stack[-1]['name']} without nesting in it")
            stack.append(s)

    # nested calls: inside the task slice that opened them, when there is one
    levels = collections.Counter(c["args"]["level"] for c in calls.values())
    if a.nested and max(levels, default=0) < a.nested:
        fail(f"calls reach level {max(levels, default=0)}, expected {a.nested}: {dict(levels)}")
    task_at = {(t["args"]["call"], t["args"]["index"]): t for t in tasks}
    nested_calls = [c for c in calls.values() if c["args"]["parent"]]
    for c in nested_calls:
        opener = task_at.get((c["args"]["parent"], c["args"]["opened_by"]))
        if opener is None:
            fail(f"{c['name']}: no task slice for its opener {c['args']['parent']}#{c['args']['opened_by']}")
        elif (opener["pid"], opener["tid"]) != (c["pid"], c["tid"]) or not contains(opener, c["ts"], c["ts"] + c["dur"]):
            fail(f"{c['name']} does not lie inside the task that opened it")

    # flows: each id starts once and ends once; the end binds to a nested call's batch
    starts = collections.defaultdict(list)
    ends = collections.defaultdict(list)
    for ev in events:
        if ev["ph"] == "s":
            starts[ev["id"]].append(ev)
        elif ev["ph"] == "f":
            ends[ev["id"]].append(ev)
    for fid in set(starts) | set(ends):
        if len(starts[fid]) != 1 or len(ends[fid]) != 1:
            fail(f"flow {fid}: {len(starts[fid])} starts, {len(ends[fid])} ends")
            continue
        s, e = starts[fid][0], ends[fid][0]
        if e["ts"] < s["ts"]:
            fail(f"flow {fid} ends before it starts")
        if not any(contains(t, s["ts"]) for t in by_track[(s["pid"], s["tid"])] if t["cat"] == "task"):
            fail(f"flow {fid} starts outside any task slice")
        if not any(b["ts"] == e["ts"] and b["args"]["level"] > 0 for b in by_track[(e["pid"], e["tid"])] if b["cat"] == "batch"):
            fail(f"flow {fid} does not end at a nested call's batch")
    nested_batches = [b for b in batches if b["args"]["level"] > 0]
    if a.nested and len(starts) != len(nested_batches):
        fail(f"{len(nested_batches)} batches of nested calls but {len(starts)} flows")

    instants = collections.Counter(ev["name"] for ev in events if ev["ph"] == "i")
    counters = {ev["name"] for ev in events if ev["ph"] == "C"}
    if not {"queue depth", "items done"} <= counters:
        fail(f"counters missing: {counters}")
    if a.cache and not (instants["cache miss"] and instants["cache hit"] and instants["cache store"]):
        fail(f"cache instants missing: {dict(instants)}")
    if a.retry and not instants["retry"]:
        fail(f"no retry instant: {dict(instants)}")

    if failures:
        print("\n".join("FAIL: " + m for m in failures[:30]))
        print(f"0 passed, {len(failures)} failed")
        return 1
    print(f"trace ok: {len(events)} events, {len(calls)} calls {dict(levels)}, {len(batches)} batches, "
          f"{len(tasks)} tasks, {len(starts)} flows, {len(names)} tracks in {len(procs)} processes")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
