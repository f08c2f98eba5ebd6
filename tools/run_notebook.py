"""Execute notebooks in place, saving their outputs (for the docs and README), then clean them with nbdev_clean.

    python tools/run_notebook.py nbs/index.ipynb [more.ipynb ...]
"""
import os, subprocess, sys
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

for p in sys.argv[1:]:
    p = Path(p).resolve()
    nb = read_nb(p)
    cwd = os.getcwd(); os.chdir(p.parent)
    try:
        sh = CaptureShell()
        sh.run_all(nb, exc_stop=True)
    finally: os.chdir(cwd)
    write_nb(nb, p); print(f'executed {p}')
subprocess.run(['nbdev_clean'], check=True)
