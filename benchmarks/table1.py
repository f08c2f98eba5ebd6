"""Table 1 on the embedded zoo-vit benchmark over several seeds: every registered method (or --methods), mean ± std.

Each seed is one `calm_nb demo` run written to <work>/seed<k>/ (skipped when its results.json exists, so an interrupted
sweep resumes); the aggregate goes to <out>.md and <out>.json.

    python benchmarks/table1.py --seeds 0 1 2 --paper-settings --work /tmp/table1 --out benchmarks/results/table1_zoo_vit_paper
    python benchmarks/table1.py --seeds 0 1 2 --work /tmp/table1_demo --out benchmarks/results/table1_zoo_vit_demo

With --update DIR (a folder of seed<k>.json results, as stored next to the aggregate), only --methods are run and their
rows replace those in DIR's files (each replaced row is marked with the date and calm_nb version); the others are kept.
"""
import argparse, json, platform, statistics, time
from pathlib import Path
import torch
from calm_nb.cli import demo
from calm_nb.io import atomic_write
from calm_nb.provenance import stored_results
from calm_nb.evaluate import REFERENCE_ROWS, versions


def aggregate(docs: list[dict]) -> tuple[dict, list[str]]:
    "Per method: mean and std of every task's accuracy, the average and the seconds over the seed runs."
    tasks = list(next(iter(docs[0]['methods'].values()))['per_task'])
    agg = {}
    for m in docs[0]['methods']:
        runs = [d['methods'][m] for d in docs if m in d['methods']]
        col = lambda f: [f(r) for r in runs]
        stat = lambda xs: {'mean': statistics.fmean(xs), 'std': statistics.stdev(xs) if len(xs) > 1 else 0.0}
        agg[m] = {'per_task': {t: stat(col(lambda r: r['per_task'][t])) for t in tasks}, 'avg': stat(col(lambda r: r['avg'])),
                  'seconds': stat(col(lambda r: r['seconds'])), 'n_seeds': len(runs)}
    return agg, tasks


def table(agg: dict, tasks: list[str]) -> str:
    head = '| Method | ' + ' | '.join(tasks) + ' | **Avg** | Time (s) |'
    rows = [head, '|---|' + '---:|' * (len(tasks) + 2)]
    for m, r in agg.items():
        cell = lambda s: f"{s['mean']:.1f} ± {s['std']:.1f}" if s['std'] > 0.05 else f"{s['mean']:.1f}"
        rows.append(f'| {REFERENCE_ROWS.get(m, m)} | ' + ' | '.join(cell(r['per_task'][t]) for t in tasks)
                    + f" | **{cell(r['avg'])}** | {r['seconds']['mean']:.1f} |")
    return '\n'.join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--methods', nargs='+')
    ap.add_argument('--paper-settings', action='store_true', help="every method at its paper's defaults (else the demo's scaled settings)")
    ap.add_argument('--work', default='table1_runs')
    ap.add_argument('--out', required=True, help='path prefix of the .md and .json aggregate')
    ap.add_argument('--note', default='', help='a sentence appended to the .md (e.g. how busy the machine was)')
    ap.add_argument('--update', help='folder of stored seed<k>.json results whose --methods rows are replaced by new runs')
    a = ap.parse_args()
    docs, seconds = [], {}
    for s in a.seeds:
        d = Path(a.work) / f'seed{s}'
        doc, stale = stored_results(d / 'results.json') if (d / 'results.json').exists() else (None, None)
        if stale:   # a seed finished under other defaults or another zoo: never reused silently
            print(f'{stale}: running seed {s} again'); doc = None
        if doc is None:   # resume=True: methods an interrupted run finished with the same settings are kept
            t = time.perf_counter()
            demo(methods=a.methods, seed=s, out=str(d), progress=False, paper_settings=a.paper_settings, resume=True)
            doc = json.loads((d / 'results.json').read_text())
            seconds[s] = round(time.perf_counter() - t, 1)
        runs = Path(a.out + '_runs'); runs.mkdir(parents=True, exist_ok=True)
        if not a.update:   # each seed's whole record beside the aggregate (what --update edits later)
            text = json.dumps(doc, indent=2, default=str).replace(f'{Path.cwd()}/', '')   # no machine-local folders
            atomic_write(runs / f'seed{s}.json', lambda tmp, text=text: Path(tmp).write_text(text))
        if a.update:
            if not a.methods: raise SystemExit('--update needs --methods (the rows to re-run)')
            stored = Path(a.update) / f'seed{s}.json'
            old = json.loads(stored.read_text())
            stamp = {'updated': f"{time.strftime('%Y-%m-%d')} calm_nb {versions().get('calm_nb')}"}
            old['methods'] |= {m: doc['methods'][m] | stamp for m in a.methods}
            atomic_write(stored, lambda tmp: Path(tmp).write_text(json.dumps(old, indent=2, default=str)))
            doc = old
        docs.append(doc)
    agg, tasks = aggregate(docs)
    settings = 'paper defaults' if a.paper_settings else 'demo settings'
    dev = f'{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads'
    md = (f"# zoo-vit, Table 1 layout: test accuracy (%), mean ± std over seeds {a.seeds} ({settings})\n\n{table(agg, tasks)}\n\n"
          f"Measured with `python benchmarks/table1.py {'--paper-settings ' if a.paper_settings else ''}--seeds {' '.join(map(str, a.seeds))}` on {dev}; "
          f"calm_nb {versions().get('calm_nb')}, torch {versions().get('torch')}. Data-free methods other than DARE do not depend on the seed.\n"
          + (f"\n{a.note}\n" if a.note else ''))
    out = Path(a.out)
    atomic_write(out.with_suffix('.md'), lambda tmp: Path(tmp).write_text(md))
    hp = {m: r.get('hparams') for m, r in docs[0]['methods'].items()}
    atomic_write(out.with_suffix('.json'), lambda tmp: Path(tmp).write_text(json.dumps(
        {'seeds': a.seeds, 'settings': settings, 'device': dev, 'versions': versions(), 'hparams': hp, 'methods': agg,
         'provenance': docs[0].get('provenance'), 'seconds_per_seed': seconds}, indent=1, default=str).replace(f'{Path.cwd()}/', '')))
    print(md)


if __name__ == '__main__':
    main()
