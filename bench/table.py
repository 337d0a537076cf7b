"""Print a side-by-side table from "row<TAB>who<TAB>value<TAB>unit" lines (the bench
scripts' output), one column per `who`, plus the peer's figure over ours.
    python3 bench/table.py FILE ROW_WIDTH PEER/OURS WHO=LABEL [WHO=LABEL ...]
"""
import sys


def main():
    path, width, ratio = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cols = [a.split("=", 1) for a in sys.argv[4:]]
    peer, ours = ratio.split("/")
    rows, order = {}, []
    for line in open(path):
        name, who, value, unit = line.rstrip("\n").split("\t")
        if name not in rows:
            rows[name] = {"unit": unit}
            order.append(name)
        rows[name][who] = float(value)
    label = f"{dict(cols)[peer]} / {dict(cols)[ours]}"
    widths = [max(12, len(lab)) for _, lab in cols] + [max(12, len(label))]
    heads = [lab for _, lab in cols] + [label]
    print(f"| {'row':{width}} | " + " | ".join(f"{h:>{w}}" for h, w in zip(heads, widths)) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for name in order:
        r = rows[name]
        cells = [f"{r[who]:.4g} {r['unit']}" if who in r else "-" for who, _ in cols]
        cells.append(f"{r[peer] / r[ours]:.1f}x" if peer in r and ours in r and r[ours] > 0 else "-")
        print(f"| {name:{width}} | " + " | ".join(f"{c:>{w}}" for c, w in zip(cells, widths)) + " |")


if __name__ == "__main__":
    main()
