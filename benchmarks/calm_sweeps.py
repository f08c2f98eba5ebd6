"""Run the CALM sweeps behind the analysis notebooks Fig. 4 (sampling ratio), Fig. 5 (sampling method), Fig. 6 (|S̄|) and
Table 3 (merging strategy) on the embedded zoo-vit benchmark, appending one JSON line per run to a records file. The
notebooks read the same file (CALM_NB_SWEEP_RECORDS) and run only what is missing; this script fills it head-less.

    python benchmarks/calm_sweeps.py --records benchmarks/results/calm_sweeps_zoo_vit_cpu.jsonl [--only ratio n_seq]
"""
import argparse, os
from calm_nb.zoo import zoo_vit
from calm_nb.plots import SWEEPS, SWEEP_BASE, SWEEP_SEEDS, calm_sweep, summarize_sweep


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--records', required=True); ap.add_argument('--only', nargs='+', choices=list(SWEEPS))
    ap.add_argument('--update', default=os.environ.get('CALM_NB_UPDATE', 'paper'))
    a = ap.parse_args()
    bench = zoo_vit(progress=False)
    for name in a.only or SWEEPS:
        rows = calm_sweep(bench, [{name: v} for v in SWEEPS[name]], SWEEP_SEEDS, a.records, SWEEP_BASE | {'update': a.update})
        for v, s in summarize_sweep(rows, name).items():
            print(f'{name}={v}: {s["mean"]:.2f} ± {s["std"]:.2f} (n={s["n"]}, {s["seconds"]:.0f} s/run)', flush=True)


if __name__ == '__main__':
    main()
