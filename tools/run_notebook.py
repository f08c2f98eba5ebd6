"""Execute notebooks in place, saving their outputs (for the docs and README), then clean them with nbdev_clean.

    python tools/run_notebook.py nbs/index.ipynb [more.ipynb ...]

The settings the outputs were produced at are recorded in the notebook's metadata (`calm_nb.settings`: `full`, or
`quick` when CALM_NB_QUICK=1), with the code's fingerprint (`calm_nb.provenance`: the methods' defaults, the shipped
assets, calm_nb's version and commit); `tools/build_docs.py` refuses to render stored quick-run outputs, and outputs
whose fingerprint is not the code's.
"""
import os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a warning's location names the file it came from: this checkout's or the environment's folders, which must not reach
# a committed notebook or a docs page (check_docs refuses machine-local paths)
LOCAL = re.compile(r'(?:' + re.escape(f'{ROOT}/') + r'|(?<![\w.])/\S*?/site-packages/)')


def scrub(nb):
    "Make the file paths in `nb`'s outputs relative: this checkout's prefix and `…/site-packages/` are dropped."
    fix = lambda t: [LOCAL.sub('', l) for l in t] if isinstance(t, list) else LOCAL.sub('', t)
    for c in nb['cells']:
        for o in c.get('outputs') or []:
            if 'text' in o: o['text'] = fix(o['text'])
            for k in ('text/plain', 'text/markdown'):
                if k in (o.get('data') or {}): o['data'][k] = fix(o['data'][k])
    return nb


def execute(path, exc_stop: bool = True):
    "Run every cell of the notebook at `path` with execnb, in its own folder; return the executed notebook."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    path = Path(path).resolve()
    nb = read_nb(path)
    cwd = os.getcwd(); os.chdir(path.parent)
    try: CaptureShell().run_all(nb, exc_stop=exc_stop)
    finally: os.chdir(cwd)
    from calm_nb.provenance import provenance
    scrub(nb)
    nb.metadata['calm_nb'] = {'settings': 'quick' if os.environ.get('CALM_NB_QUICK') == '1' else 'full',
                              'provenance': provenance()}
    return nb


if __name__ == '__main__':
    from execnb.nbio import write_nb
    for p in sys.argv[1:]:
        write_nb(execute(p), Path(p).resolve()); print(f'executed {Path(p).resolve()}', flush=True)
    subprocess.run(['nbdev_clean'], check=True)
