"""One command that regenerates everything a reader sees, resumably: the README's table (nbs/index), Table 1 at paper
settings over three seeds, every analysis notebook at full settings, every library notebook's stored outputs, the
FusionBench parity table, then the README.

    python tools/regenerate.py --dry-run              # the jobs, in order, and which are current
    python tools/regenerate.py                        # run every job not yet done for the code's fingerprint
    python tools/regenerate.py --only nbs/index.ipynb # one job (any job name, or a prefix such as nbs/analysis/)
    python tools/regenerate.py --parity-python /path/to/env/bin/python   # the environment with the `parity` extra

A job is done when `benchmarks/results/regeneration.json` records it finished under the current provenance hash
(`calm_nb.provenance`: the methods' defaults, the shipped zoo, the version): an interrupted run resumes with the first
job not done, and a change of any default makes every job due again. Each job's wall time and exit status are recorded
there the moment it ends. Notebooks run through tools/run_notebook.py (which writes the fingerprint into each one's
metadata); the analysis notebooks at full settings (CALM_NB_QUICK unset). The parity job needs an environment with
FusionBench (`pip install -e ".[parity]"`); without `--parity-python` it is skipped and said so.
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / 'benchmarks' / 'results' / 'regeneration.json'


def notebooks_with_outputs() -> list[Path]:
    "Library notebooks (nbs/*.ipynb, not the tutorials) whose committed copies hold outputs: what a reader sees."
    out = []
    for p in sorted((ROOT / 'nbs').glob('[0-9]*.ipynb')):
        nb = json.loads(p.read_text())
        if any(c.get('outputs') for c in nb['cells']): out.append(p)
    return out


def jobs(parity_python: str | None) -> list[tuple[str, list[str], dict]]:
    "(name, command, extra environment) in order."
    py = sys.executable
    run_nb = lambda p: [py, str(ROOT / 'tools' / 'run_notebook.py'), str(p)]
    full = {'CALM_NB_QUICK': None}
    out = [('nbs/index.ipynb', run_nb(ROOT / 'nbs' / 'index.ipynb'), full)]
    out += [('benchmarks/table1.py (paper settings, seeds 0 1 2)',
             [py, str(ROOT / 'benchmarks' / 'table1.py'), '--paper-settings', '--seeds', '0', '1', '2',
              '--work', str(ROOT / 'table1_runs'), '--out', str(ROOT / 'benchmarks' / 'results' / 'table1_zoo_vit_paper')], {})]
    out += [(p.relative_to(ROOT).as_posix(), run_nb(p), full) for p in sorted((ROOT / 'nbs' / 'analysis').glob('*.ipynb'))]
    out += [(p.relative_to(ROOT).as_posix(), run_nb(p), full) for p in notebooks_with_outputs()
            if p.name != 'index.ipynb' and p.name != '00h_faithfulness.ipynb']
    if parity_python: out += [('benchmarks/parity_fusion_bench.py', [parity_python, str(ROOT / 'benchmarks' / 'parity_fusion_bench.py')], {})]
    out += [('nbs/00h_faithfulness.ipynb', run_nb(ROOT / 'nbs' / '00h_faithfulness.ipynb'), full),
            ('tools/build_readme.py', [py, str(ROOT / 'tools' / 'build_readme.py')], {})]
    return out


def load_state(path: Path) -> dict:
    try: return json.loads(path.read_text())
    except (OSError, ValueError): return {'jobs': {}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dry-run', action='store_true')
    ap.add_argument('--only', nargs='*', help='job names or prefixes')
    ap.add_argument('--parity-python', help='python of an environment with the parity extra (FusionBench)')
    ap.add_argument('--force', action='store_true', help='run the selected jobs even if done')
    ap.add_argument('--state', type=Path, default=STATE, help='where the jobs are recorded')
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from calm_nb.provenance import provenance
    from calm_nb.io import write_json
    from tqdm.auto import tqdm
    current = provenance()['hash']
    state = load_state(a.state)
    todo = [j for j in jobs(a.parity_python) if not a.only or any(j[0] == o or j[0].startswith(o) for o in a.only)]
    done = lambda name: (r := state['jobs'].get(name)) and r.get('status') == 'finished' and r.get('provenance') == current
    if a.dry_run:
        for name, cmd, _ in todo: print(f"{'done' if done(name) else 'due '}  {name}")
        if not a.parity_python: print('(parity: skipped without --parity-python)')
        return
    failed = []
    for name, cmd, env in tqdm(todo, desc='regenerating', unit='job'):
        if done(name) and not a.force: tqdm.write(f'{name}: done for provenance {current}; skipped'); continue
        e = {k: v for k, v in os.environ.items() if not (k in env and env[k] is None)}
        e |= {k: v for k, v in env.items() if v is not None}
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, env=e)
        rec = {'status': 'finished' if r.returncode == 0 else f'failed (exit {r.returncode})', 'provenance': current,
               'seconds': round(time.perf_counter() - t0, 1), 'ended': time.strftime('%Y-%m-%d %H:%M:%S'),
               # paths relative to the checkout: the record is committed and must not name this machine's folders
               'command': ' '.join(Path(c).name if i == 0 else c.replace(f'{ROOT}/', '') for i, c in enumerate(cmd))}
        state['jobs'][name] = rec; state['provenance'] = current
        write_json(a.state, state)   # kept the moment the job ends
        tqdm.write(f"{name}: {rec['status']} in {rec['seconds']} s")
        if r.returncode: failed.append(name)
    if not a.parity_python: print('parity: skipped (no --parity-python); the stored table stays as it is')
    if failed: sys.exit(f'failed: {failed}')


if __name__ == '__main__':
    main()
