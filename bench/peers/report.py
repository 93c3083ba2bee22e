"""Flusso's suite table and the peers' JSON results -> Markdown table and PNG plot.

Usage: report.py RESULTS_DIR EVENTS
Reads RESULTS_DIR/flusso-suite.md (from `flusso nexmark suite --out`), flink.json,
bytewax.json and datafusion.json (each optional); writes RESULTS_DIR/nexmark-peers.md and
RESULTS_DIR/nexmark-peers.png.
"""

import datetime
import json
import os
import re
import sys

QUERIES = ["q0", "q1", "q2", "q5", "q7", "q8", "q11"]
PEERS = [
    ("flink", "Flink (PyFlink, p=1)"),
    ("bytewax", "Bytewax (1 worker)"),
    ("datafusion", "DataFusion batch (1 partition)"),
]
SHORT = {"flink": "Flink", "bytewax": "Bytewax", "datafusion": "DataFusion"}
# Published per-core figures (nexmark/nexmark GUIDE_V2.md, Flink 2.0, 8-way parallel cluster).
FLINK2_PUBLISHED = {"q0": 379, "q1": 395, "q2": 414, "q5": 75, "q7": 23, "q8": 162, "q11": 46}


def flusso_per_core(path):
    """query -> per core (the log path's JSON run), from the suite's Markdown table."""
    out = {}
    if not os.path.exists(path):
        return out
    column = None
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if column is None:
            for i, c in enumerate(cells):
                if "per core" in c:
                    column = i
                    break
            continue
        if len(cells) > column and re.fullmatch(r"q\d+", cells[0]):
            number = cells[column].replace(",", "")
            if re.fullmatch(r"\d+(\.\d+)?", number):
                out[cells[0]] = float(number)
    return out


def load(path):
    if not os.path.exists(path):
        return {}
    return json.load(open(path))


def fmt(x):
    return f"{x:,.0f}" if isinstance(x, (int, float)) else x


def main():
    results, events = sys.argv[1], int(sys.argv[2])
    flusso = flusso_per_core(os.path.join(results, "flusso-suite.md"))
    peers = {key: load(os.path.join(results, f"{key}.json")) for key, _ in PEERS}
    present = [(k, label) for k, label in PEERS if peers[k]]

    header = ["query", "Flusso per core"]
    for k, label in present:
        header += [f"{label} per core", f"Flusso / {SHORT[k]}"]
    header.append("published Flink 2.0 per core")
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * (len(header) - 1)]
    plot = {}
    for q in QUERIES:
        f = flusso.get(q)
        row = [q, fmt(f) if f else "not run"]
        plot[q] = {"Flusso": f}
        for k, label in present:
            r = peers[k].get(q)
            if r is None:
                row += ["—", "—"]
            elif "error" in r:
                row += ["failed", "—"]
            else:
                row += [fmt(r["per_core"]), f"{f / r['per_core']:.2f}×" if f else "—"]
                plot[q][label] = r["per_core"]
        row.append(f"{FLINK2_PUBLISHED[q]} K")
        rows.append("| " + " | ".join(row) + " |")
    today = datetime.date.today().isoformat()
    text = (
        f"Nexmark, {events:,} events, per core = all events / CPU seconds; "
        f"{os.cpu_count()} cores; {today}.\n\n" + "\n".join(rows) + "\n"
    )
    errors = [f"- {k} {q}: {r['error']}" for k, _ in present for q, r in peers[k].items() if "error" in r]
    if errors:
        text += "\nFailed:\n\n" + "\n".join(errors) + "\n"
    open(os.path.join(results, "nexmark-peers.md"), "w").write(text)
    print(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = ["Flusso"] + [label for _, label in present]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(series)
    for i, s in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(QUERIES))]
        ys = [plot[q].get(s) or 0 for q in QUERIES]
        ax.bar(xs, ys, width, label=s)
    ax.set_yscale("log")
    ax.set_xticks(range(len(QUERIES)))
    ax.set_xticklabels(QUERIES)
    ax.set_ylabel("events/s per core (log)")
    ax.set_title(f"Nexmark per core, {events:,} events, {os.cpu_count()}-core machine, {today}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(results, "nexmark-peers.png"), dpi=110)


if __name__ == "__main__":
    main()
