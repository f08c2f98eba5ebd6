"""Run the notebooks in nbs/ as pytest tests: every code cell is one test item.

Cells run top to bottom in one namespace per notebook, with the notebook's folder as working directory, as
`nbdev_test` does. Cells flagged with a test flag from settings.ini (`#| slow`, `#| gpu`, `#| network`) are skipped
unless the flag is enabled with `--flags slow` or `CALM_NB_TEST_FLAGS=slow`; cells marked `#| eval: false` never run.
Once a cell fails, the rest of its notebook is skipped (they would fail for the same reason).
"""
import json, linecache, os, re, sys
from configparser import ConfigParser
from pathlib import Path

import pytest

ROOT = Path(__file__).parent
_cfg = ConfigParser(delimiters=['=']); _cfg.read(ROOT / 'settings.ini')
TEST_FLAGS = set(_cfg['DEFAULT'].get('tst_flags', '').split('|')) - {''}
SKIP_NOTEBOOKS = {'clip_vit_b32.ipynb', 'roberta_nlp.ipynb'}  # the Colab tutorials run whole, against simulated hubs, in tests/test_tutorials.py (calm_nb.rehearsal)
os.environ.setdefault('CALM_NB_QUICK', '1')  # analysis notebooks: quick splits and few iterations under test (full when run by hand)


def pytest_addoption(parser):
    parser.addoption('--flags', default=os.environ.get('CALM_NB_TEST_FLAGS', ''),
                     help=f'space/comma separated test flags to enable, from {sorted(TEST_FLAGS)}')


def pytest_collect_file(parent, file_path):
    if (file_path.suffix == '.ipynb' and not file_path.name.startswith(('_', '.'))
            and '.ipynb_checkpoints' not in file_path.parts and file_path.name not in SKIP_NOTEBOOKS):
        return NotebookFile.from_parent(parent, path=file_path)


def _directives(src: str) -> dict:
    out = {}
    for line in src.splitlines():
        m = re.match(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if m: out[m.group(1)] = m.group(2).strip()
    return out


class NotebookFile(pytest.File):
    def collect(self):
        nb = json.loads(self.path.read_text())
        self.namespace, self.failed = None, None
        enabled = set(re.split(r'[,\s]+', self.config.getoption('--flags'))) - {''}
        for i, cell in enumerate(nb['cells']):
            if cell['cell_type'] != 'code': continue
            src = ''.join(cell['source'])
            if not src.strip(): continue
            d = _directives(src)
            if d.get('eval', '').lower() == 'false': continue
            skip = sorted((set(d) & TEST_FLAGS) - enabled)
            yield NotebookCell.from_parent(self, name=f'cell{i:02d}', source=src, skip_flags=skip)


class NotebookCell(pytest.Item):
    def __init__(self, *, source, skip_flags, **kw):
        super().__init__(**kw)
        self.source, self.skip_flags = source, skip_flags

    def runtest(self):
        nbf = self.parent
        if self.skip_flags: pytest.skip(f'flag(s) {self.skip_flags} not enabled (--flags)')
        if nbf.failed: pytest.skip(f'an earlier cell of this notebook failed ({nbf.failed})')
        if nbf.namespace is None:
            import matplotlib; matplotlib.use('Agg')
            nbf.namespace = {'__name__': '__main__', '__file__': str(nbf.path)}
        lines = [l for l in self.source.splitlines() if not l.lstrip().startswith(('%', '!'))]
        text, fname = '\n'.join(lines) + '\n', f'<{nbf.path.name}:{self.name}>'
        linecache.cache[fname] = (len(text), None, text.splitlines(True), fname)  # lets inspect/show_doc see the source
        code = compile(text, fname, 'exec')
        cwd = os.getcwd(); os.chdir(nbf.path.parent)
        sys.path.insert(0, str(ROOT))
        try: exec(code, nbf.namespace)
        except BaseException:
            nbf.failed = self.name
            raise
        finally:
            os.chdir(cwd); sys.path.remove(str(ROOT))
            try:
                import matplotlib.pyplot as plt; plt.close('all')
            except Exception: pass

    def repr_failure(self, excinfo):
        tb = excinfo.getrepr(style='short', chain=True)
        return f'{self.parent.path.name} {self.name}:\n{self.source}\n\n{tb}'

    def reportinfo(self):
        return self.parent.path, 0, f'{self.parent.path.name}::{self.name}'
