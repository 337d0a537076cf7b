"""The demo's SIR model (examples/demo/sir.c) in Python, line for line (same RNG, same
arithmetic), for bench/pyodide_map.mjs: the joblib.Parallel / plain-loop side of the
CPU-bound sweep. sweep(points) returns the same 32-byte results the C task writes."""
import math
import struct

POPULATION = 4000
MASK = 2**64 - 1


def simulate_sir(beta, gamma, seed, replicates):
    s_ = seed | 1

    def uniform():
        nonlocal s_
        s_ ^= s_ >> 12
        s_ ^= (s_ << 25) & MASK
        s_ ^= s_ >> 27
        return ((s_ * 0x2545F4914F6CDD1D & MASK) >> 11) * 2.0**-53

    attack_sum = peak_sum = days = major = 0.0
    for _ in range(replicates):
        s, i, peak, now = POPULATION - 1, 1, 1, 0.0
        while i > 0:
            infect = beta * s * i / POPULATION
            recover = gamma * i
            total = infect + recover
            now += -math.log(1.0 - uniform()) / total
            if uniform() * total < infect:
                s, i = s - 1, i + 1
            else:
                i -= 1
            if i > peak:
                peak = i
        attack = (POPULATION - s) / POPULATION
        attack_sum += attack
        peak_sum += peak / POPULATION
        days += now
        major += attack > 0.1
    n = replicates
    return struct.pack("<4d", attack_sum / n, peak_sum / n, days / n, major / n)


def points(n, replicates):
    """n points of a 2-D grid as the bytes simulate_sir reads (web/pyodide-sweep.py's)."""
    grid = max(2, math.isqrt(n))
    return [(0.05 + 0.55 * (i // grid % grid) / (grid - 1), 0.05 + 0.45 * (i % grid) / (grid - 1),
             (i + 1) * 0x9E3779B97F4A7C15 % 2**64, replicates) for i in range(n)]


def packed(pts):
    return b"".join(struct.pack("<ddQi4x", *p) for p in pts)
