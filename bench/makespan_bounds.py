#!/usr/bin/env python3
"""How close can any scheduler get to max(critical path, work / P)?

For the part (d) DAGs of bench/run.sh (gen_dag.py --cmd sleep --window 20,
durations as estimates, no overhead), for each seed and slot count P:

  base     max(critical path, total work / P): the target's denominator
  lb       a proven lower bound on the makespan of ANY schedule on P slots,
           list schedule or not (energetic reasoning, see below)
  best     the best list schedule found (simulated annealing over priority
           lists, started from the current rule); best == lb proves it
           optimal
  cur      dagexec's rule, simulated: bottom level weighted by the
           estimates (longer first), then manifest order (src/sched.c
           before(); all priorities are equal in these manifests)

Lower bound (Fernandez-Bussell style energetic reasoning): for a horizon T,
node j has a head r_j (longest path of its ancestors) and a tail q_j
(longest path of its descendants), so it runs inside [r_j, T - q_j]. In
any interval [a, b] it must do at least
    min(its left-shifted work in [a, b], its right-shifted work in [a, b])
and the sum over all nodes must fit in P * (b - a). The smallest T for
which every checked interval passes is a lower bound (checking fewer
intervals only weakens it, never makes it unsound). Heads and tails are
first tightened with the descendant (ancestor) sets: a node's tail is at
least min h + ceil(W(S) / P) + min q over any set S of its descendants,
h being the distance from the node's end to the start of a descendant.
Durations are integers (ms), so the bound is an integer.

With --rules, candidate static priority rules are simulated too and
summarised over the seeds (mean and max ratio to base, seeds better and
worse than the current rule).

  bench/makespan_bounds.py                     # seeds 1 2 3, P = 2 and 4
  bench/makespan_bounds.py --seeds 101-150 --iters 0 --rules
"""

import argparse
import heapq
import math
import os
import random
import statistics
import sys
import time

sys.dont_write_bytecode = True     # no bench/__pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_dag  # noqa: E402  (the same DAGs as bench/run.sh part_d)


def parse_seeds(text):
    """'1-3,7' -> [1, 2, 3, 7]."""
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def load_dag(seed, nodes, window):
    """(needs, durations in ms) exactly as gen_dag.py builds them."""
    a = argparse.Namespace(nodes=nodes, seed=seed, window=window,
                           needs=(1, 3), cmd="sleep", sleep=(10, 200))
    _, needs, ms = gen_dag.build(a)
    return needs, ms


class Dag:
    """Nodes in index order (topological: needs are earlier nodes)."""

    def __init__(self, needs, p):
        self.n = len(p)
        self.p = p
        self.needs = needs
        self.succ = [[] for _ in range(self.n)]
        for i, x in enumerate(needs):
            for j in x:
                self.succ[j].append(i)
        self.head = [0] * self.n        # longest path of the ancestors
        for i in range(self.n):
            self.head[i] = max((self.head[j] + p[j] for j in needs[i]),
                               default=0)
        self.tail = [0] * self.n        # longest path of the descendants
        for i in reversed(range(self.n)):
            self.tail[i] = max((self.tail[k] + p[k] for k in self.succ[i]),
                               default=0)
        self.cp = max((self.head[i] + p[i] for i in range(self.n)),
                      default=0)
        self.work = sum(p)

    def base(self, procs):
        return max(self.cp, self.work / procs)


# ---- lower bound ----------------------------------------------------------

def tighten_tails(p, succ, tail, procs):
    """Tails raised by the work of each node's descendants on procs slots
    (nodes in topological index order)."""
    n = len(p)
    q = list(tail)
    for j in reversed(range(n)):
        h = {k: 0 for k in succ[j]}     # descendant -> earliest start
        for i in range(j + 1, n):       # after j's end
            if i in h:
                for k in succ[i]:
                    if h.get(k, -1) < h[i] + p[i]:
                        h[k] = h[i] + p[i]
        best = q[j]
        for order in (sorted(h, key=lambda i: -q[i]), sorted(h, key=h.get)):
            w, mh, mq = 0, math.inf, math.inf
            for i in order:
                w += p[i]
                mh = min(mh, h[i])
                mq = min(mq, q[i])
                best = max(best, mh + -(-w // procs) + mq)
        q[j] = best
    return q


def tightened(dag, procs):
    """(heads, tails) tightened; heads through the reversed graph."""
    n = dag.n
    tail = tighten_tails(dag.p, dag.succ, dag.tail, procs)
    rsucc = [[n - 1 - j for j in dag.needs[n - 1 - i]] for i in range(n)]
    rhead = tighten_tails(dag.p[::-1], rsucc, dag.head[::-1], procs)
    return rhead[::-1], tail


def energy_fits(p, head, tail, procs, horizon):
    """True when no checked interval [a, b] of [0, horizon] needs more than
    procs * (b - a) of mandatory work. a runs over every head, earliest
    end and latest start; b over every breakpoint of the energy."""
    n = len(p)
    ect = [head[j] + p[j] for j in range(n)]
    lct = [horizon - tail[j] for j in range(n)]
    lst = [lct[j] - p[j] for j in range(n)]
    if any(lst[j] < head[j] for j in range(n)):
        return False
    for a in sorted(set(x for x in head + lst + ect if 0 <= x < horizon)):
        # node j's mandatory work in [a, b] is clamp(b - g, 0, c): a ramp
        ev = []
        for j in range(n):
            c = min(ect[j] - max(a, head[j]), lct[j] - max(a, lst[j]))
            if c > 0:
                g = max(a, head[j], lst[j])
                ev.append((g, 1))
                ev.append((g + c, -1))
        ev.sort()
        e = 0           # energy in [a, b]
        slope = 0
        b = a
        for t, d in ev:
            e += slope * (t - b)
            b = t
            if e > procs * (b - a):
                return False
            slope += d
    return True


def lower_bound(dag, procs, upper):
    """Smallest horizon in [ceil(base), upper] passing energy_fits."""
    head, tail = tightened(dag, procs)
    lo, hi = math.ceil(dag.base(procs)), upper
    while lo < hi:
        mid = (lo + hi) // 2
        if energy_fits(dag.p, head, tail, procs, mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# ---- list schedules -------------------------------------------------------

def list_schedule(dag, procs, key):
    """Makespan of the list schedule (no idle slot while a node is ready;
    among ready nodes the smallest key[i] starts first), as dagexec and
    gen_dag.py --format sim do."""
    p, succ = dag.p, dag.succ
    left = [len(x) for x in dag.needs]
    ready = [(key[i], i) for i in range(dag.n) if left[i] == 0]
    heapq.heapify(ready)
    running = []
    t = done = 0
    while done < dag.n:
        while ready and len(running) < procs:
            _, i = heapq.heappop(ready)
            heapq.heappush(running, (t + p[i], i))
        t, i = heapq.heappop(running)
        done += 1
        for k in succ[i]:
            left[k] -= 1
            if left[k] == 0:
                heapq.heappush(ready, (key[k], k))
    return t


def anneal(dag, procs, start, iters, seed, temp0, stop=0):
    """Simulated annealing over numeric priorities: move one node's
    priority by a gaussian step (sd 100 ms), temperature falling linearly
    from temp0 ms; stop early on reaching stop."""
    rng = random.Random(seed)
    key = [float(x) for x in start]
    cur = best = list_schedule(dag, procs, key)
    for it in range(iters):
        if best <= stop:
            break
        temp = temp0 * (1 - it / iters) + 0.01
        i = rng.randrange(dag.n)
        old = key[i]
        key[i] = old + rng.gauss(0, 100)
        v = list_schedule(dag, procs, key)
        if v <= cur or rng.random() < math.exp((cur - v) / temp):
            cur = v
            best = min(best, v)
        else:
            key[i] = old
    return best


# ---- priority rules -------------------------------------------------------

def rules(dag):
    """Static rules, key = (tuple, smaller first). 'cur' is dagexec's."""
    n, p = dag.n, dag.p
    bl = [dag.tail[i] + p[i] for i in range(n)]
    ns = [len(dag.succ[i]) for i in range(n)]
    return {
        "cur": [(-bl[i], i) for i in range(n)],
        "bl,nsucc": [(-bl[i], -ns[i], i) for i in range(n)],
        "bl,longer": [(-bl[i], -p[i], i) for i in range(n)],
        "bl,head": [(-bl[i], dag.head[i], i) for i in range(n)],
        "bl+0.1p": [(-(bl[i] + 0.1 * p[i]), i) for i in range(n)],
        "bl+0.5p": [(-(bl[i] + 0.5 * p[i]), i) for i in range(n)],
        "bl+5nsucc": [(-(bl[i] + 5 * ns[i]), i) for i in range(n)],
    }


def main():
    ap = argparse.ArgumentParser(
        description="makespan lower bounds and best schedules, part (d)")
    ap.add_argument("--seeds", type=parse_seeds, default=[1, 2, 3],
                    help="seeds, e.g. 1-3,7 (default 1-3)")
    ap.add_argument("--procs", type=parse_seeds, default=[2, 4],
                    help="slot counts (default 2,4)")
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--window", type=int, default=20)
    ap.add_argument("--iters", type=int, default=30000,
                    help="annealing steps per restart (0: no search)")
    ap.add_argument("--restarts", type=int, default=2)
    ap.add_argument("--no-lb", action="store_true",
                    help="skip the lower bound (the slow part)")
    ap.add_argument("--rules", action="store_true",
                    help="simulate candidate rules, summary over the seeds")
    args = ap.parse_args()

    t0 = time.time()
    hdr = "%5s %2s %6s %8s %8s %6s %6s %6s %6s %6s %6s" % (
        "seed", "P", "cp", "work/P", "base", "lb", "lb/b", "best",
        "best/b", "cur", "cur/b")
    print(hdr)
    ratios = {}         # (rule, P) -> [ratio per seed]
    for seed in args.seeds:
        dag = Dag(*load_dag(seed, args.nodes, args.window))
        rs = rules(dag)
        for procs in args.procs:
            base = dag.base(procs)
            cur = list_schedule(dag, procs, rs["cur"])
            lb = None if args.no_lb else lower_bound(dag, procs, cur)
            best = cur
            if args.iters > 0:
                start = [-(dag.tail[i] + dag.p[i]) for i in range(dag.n)]
                for r in range(args.restarts):
                    best = min(best, anneal(dag, procs, start, args.iters,
                                            r + 1, (5.0, 30.0)[r % 2],
                                            stop=lb or 0))
            print("%5d %2d %6d %8.1f %8.1f %6s %6s %6d %6.4f %6d %6.4f%s" % (
                seed, procs, dag.cp, dag.work / procs, base,
                "-" if lb is None else lb,
                "-" if lb is None else "%.4f" % (lb / base),
                best, best / base, cur, cur / base,
                "  optimal" if best == lb else ""), flush=True)
            if args.rules:
                for name, key in rs.items():
                    ratios.setdefault((name, procs), []).append(
                        list_schedule(dag, procs, key) / base)
    if args.rules:
        print("\nrule (ratio to base over %d seeds)" % len(args.seeds))
        print("%2s %-10s %7s %7s %6s %5s" % (
            "P", "rule", "mean", "max", "better", "worse"))
        for (name, procs), v in ratios.items():
            c = ratios[("cur", procs)]
            print("%2d %-10s %7.4f %7.4f %6d %5d" % (
                procs, name, statistics.mean(v), max(v),
                sum(x < y - 1e-12 for x, y in zip(v, c)),
                sum(x > y + 1e-12 for x, y in zip(v, c))))
    print("\n%.1f s" % (time.time() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
