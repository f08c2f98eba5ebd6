"""The docs site builds from the notebooks and passes the reader's checks; the wheel carries the package and its assets."""
import shutil, subprocess, sys, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_docs_site_builds_and_checks(tmp_path):
    site = tmp_path / 'site'
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'build_docs.py'), '--out', str(site)], check=True, capture_output=True, text=True)
    names = {p.relative_to(site).as_posix() for p in site.rglob('*.html')}
    assert {'index.html', 'core.html', 'calm.html', 'api.html', 'analysis/fig07_layer_density.html'} <= names, names
    api = (site / 'api.html').read_text()
    assert 'run_calm' in api and 'ties_merging' in api and 'fisher_merging' in api
    assert '<table>' in (site / 'index.html').read_text()           # the results table of the README / landing page
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'check_docs.py'), str(site), '--no-browser'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_docs_check_catches_problems(tmp_path):
    (tmp_path / 'a.html').write_text('<html><body><main>' + 'word ' * 100 + '<a href="missing.html">x</a><img src="nope.png">'
                                     '<pre class="out error">Traceback (most recent call last)</pre></main></body></html>')
    (tmp_path / 'b.html').write_text('<html><body><main>tiny</main></body></html>')
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'check_docs.py'), str(tmp_path), '--no-browser'], capture_output=True, text=True)
    assert r.returncode == 1
    for s in ('broken link missing.html', 'missing image nope.png', 'traceback', 'b.html: page is (nearly) empty'): assert s in r.stdout, r.stdout


@pytest.mark.skipif(not (shutil.which('chromium') or shutil.which('chromium-browser')), reason='Debian chromium not installed')
def test_docs_in_headless_chromium(tmp_path):
    site = tmp_path / 'site'
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'build_docs.py'), '--out', str(site)], check=True, capture_output=True)
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'check_docs.py'), str(site), '--screenshots', str(tmp_path / 'shots')], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_wheel_has_package_and_assets(tmp_path):
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(ROOT), '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path)], check=True)
    whl = next(tmp_path.glob('calm_nb-*.whl'))
    names = zipfile.ZipFile(whl).namelist()
    for f in ('calm_nb/core.py', 'calm_nb/calm.py', 'calm_nb/models.py', 'calm_nb/assets/zoo_vit_base.safetensors', 'calm_nb/assets/zoo_vit_deltas.safetensors'):
        assert f in names, f
    meta = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith('METADATA'))).decode()
    assert 'Requires-Dist: torch' in meta and 'Provides-Extra: hf' in meta
    target = tmp_path / 'site-packages'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', str(target), str(whl)], check=True)
    code = 'import calm_nb, calm_nb.zoo as z; print(calm_nb.__file__); print(len(z.load_zoo_weights()["finetuned"]))'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True, cwd=tmp_path, env={'PYTHONPATH': str(target), 'PATH': '/usr/bin:/bin'}).stdout
    assert str(target) in out and out.strip().endswith('8'), out
