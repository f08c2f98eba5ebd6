"""The docs site builds from the notebooks with nbdev's rules and passes the reader's checks; the checks catch what they
claim to; the wheel carries the package and its assets."""
import html, json, re, shutil, subprocess, sys, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs, check_docs   # noqa: E402


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('site') / 'site'
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'build_docs.py'), '--out', str(out)], check=True, capture_output=True, text=True)
    return out


def test_docs_site_builds_and_checks(site):
    names = {p.relative_to(site).as_posix() for p in site.rglob('*.html')}
    assert {'index.html', 'core.html', 'calm.html', 'api.html', 'analysis/fig07_layer_density.html', 'tutorials/merge_your_own_models.html'} <= names, names
    api = (site / 'api.html').read_text()
    assert 'run_calm' in api and 'ties_merging' in api and 'fisher_merging' in api
    assert str(ROOT) not in api and ' at 0x' not in api                       # constants: plain values only, no paths or addresses
    index = (site / 'index.html').read_text()
    assert '<table>' in index and 'tutorials/merge_your_own_models.html' in index   # the results table; the quick start's link
    assert (site / 'katex' / 'katex.min.js').stat().st_size > 100_000 and 'cdn.' not in index   # maths offline, nothing from a CDN
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'check_docs.py'), str(site), '--no-browser'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_export_cells_render_as_api_entries(site):
    core = (site / 'core.html').read_text()
    assert 'id="flatindex"' in core and 'id="flatindex.flatten"' in core and 'id="task_vectors"' in core   # the anchors _modidx links to
    assert 'from __future__ import annotations' not in core                  # an export cell's source is hidden ...
    assert 'show_doc(' not in core                                          # ... and an explicit show_doc call renders its entry
    ties = (site / 'ties.html').read_text()
    entry = ties[ties.index('id="ties_merging"'):][:6000]
    assert '<table class="params">' in entry and 'fraction of each task vector kept by magnitude' in entry   # docments → parameter table
    calm = (site / 'calm.html').read_text()
    assert 'class="toc"' in calm and 'id="the-efficient-aware-split-section-42"' in calm                    # heading ids, a TOC
    assert '|S̄|, drawn at random with the seed' in calm                    # a dataclass field's comment in CalmConfig's table
    assert 'On the embedded benchmark' in calm and 'ties_merging' in calm[calm.index('On the embedded benchmark'):]   # stored outputs


def test_nbdev_directives(tmp_path):
    nb = {'cells': [
        {'cell_type': 'markdown', 'source': ['# Title\n', '## A section']},
        {'cell_type': 'code', 'source': ['#| default_exp methods.ties'], 'outputs': []},
        {'cell_type': 'code', 'source': ['#| export\n', 'def ties_merging(pretrained, finetuned, k=0.2):\n', '    "x"\n'], 'outputs': []},
        {'cell_type': 'code', 'source': ['#| exports\n', 'def trim_fraction(a):\n', '    return a\n'], 'outputs': []},
        {'cell_type': 'code', 'source': ['#| hide\n', 'secret_setup = 1'], 'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': ['hidden out']}]},
        {'cell_type': 'code', 'source': ['#| echo: false\n', 'quiet_source = 2'], 'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': ['shown out']}]},
        {'cell_type': 'code', 'source': ['#| output: false\n', 'loud = 3'], 'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': ['dropped out']}]},
        {'cell_type': 'code', 'source': ['print("| a | b |")'], 'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': ['| a | b |\n|---|---|\n| **1** | 2 |\n']}]},
    ], 'metadata': {}}
    title, body, toc, anchors = build_docs.render_notebook(nb, 'x', tmp_path, '')
    assert title == 'Title' and 'id="ties_merging"' in body and 'id="a-section"' in body
    assert 'def</span> ties_merging' in body and 'pretrained, finetuned' not in body.split('class="sig"')[0]
    assert 'trim_fraction' in body and body.count('return') >= 1          # #| exports: entry and source
    assert 'secret_setup' not in body and 'hidden out' not in body         # #| hide
    assert 'quiet_source' not in body and 'shown out' in body              # #| echo: false
    assert 'loud' in body and 'dropped out' not in body                    # #| output: false
    assert '<td><strong>1</strong></td>' in body                           # a printed pipe table becomes an HTML table
    assert build_docs.quick_outputs(nb | {'metadata': {'calm_nb': {'settings': 'quick'}}}, Path('x.ipynb'))
    assert build_docs.quick_outputs(nb | {'metadata': {'calm_nb': {'settings': 'full'}}}, Path('x.ipynb')) is None
    stale = nb | {'metadata': {'calm_nb': {'settings': 'full', 'provenance': {'hash': 'aaaaaaaaaaaa'}}}}   # a planted stale page
    assert 'were made by other code' in build_docs.stale_outputs(stale, Path('x.ipynb'), 'bbbbbbbbbbbb')
    assert build_docs.stale_outputs(stale, Path('x.ipynb'), 'aaaaaaaaaaaa') is None   # current
    archival = nb | {'metadata': {'calm_nb': {'settings': 'full', 'archival': True, 'provenance': {'hash': 'aaaaaaaaaaaa'}}}}
    assert build_docs.stale_outputs(archival, Path('x.ipynb'), 'bbbbbbbbbbbb') is None
    unmarked = nb | {'metadata': {'calm_nb': {'settings': 'full'}}}          # no fingerprint: judged on result pages only
    assert 'record no provenance' in build_docs.stale_outputs(unmarked, Path('nbs/analysis/x.ipynb'), 'bbbbbbbbbbbb')
    assert 'record no provenance' in build_docs.stale_outputs(unmarked, Path('nbs/index.ipynb'), 'bbbbbbbbbbbb')
    assert build_docs.stale_outputs(unmarked, Path('nbs/x.ipynb'), 'bbbbbbbbbbbb') is None


def test_tex_reaches_the_page_byte_for_byte(site):
    src = ''.join(next(c for c in json.loads((ROOT / 'nbs' / '01d_consensus.ipynb').read_text())['cells']
                       if c['cell_type'] == 'markdown' and '$$' in ''.join(c['source']))['source'])
    tex = build_docs.math_spans(src)
    assert tex and any('\\,' in t for t, _ in tex)                          # a TeX string markdown would otherwise change
    page = (site / 'consensus.html').read_text()
    for t, display in tex:
        assert f'<span class="math {"display" if display else "inline"}">{html.escape(t, quote=False)}</span>' in page, t
        if not set(t) & set('<>&'): assert t in page                        # byte for byte
    md = r'the set $\{x \mid x_i \ne 0\}$, a gap $a\,b\;c$ and $F_t = \mathbb E[(\partial_\theta \log p)^2]$, not `$HOME` or $5 and $6'
    out = build_docs.render_md(md)
    assert r'\{x \mid x_i \ne 0\}' in out and r'a\,b\;c' in out and r'F_t = \mathbb E[(\partial_\theta \log p)^2]' in out
    assert '<em>' not in out and '<code>$HOME</code>' in out and out.count('class="math') == 3


def test_search_indexes_every_section_of_every_page(site):
    idx = json.loads((site / 'search.json').read_text())
    api = [e for e in idx if e['u'].startswith('api.html')]
    assert len(api) > 30 and sum(len(e['t']) for e in api) > 20_000      # the whole API page, section by section
    last = build_docs.defined_in(__import__('calm_nb.zoo', fromlist=['x']))[-1][0]
    assert any(last in e['t'] for e in api)                              # a name near the end of the longest page
    assert all(e['u'].count('#') <= 1 for e in idx) and any('#' in e['u'] and e['s'] for e in idx)   # results link to their section


def test_docs_check_catches_problems(tmp_path):
    (tmp_path / 'a.html').write_text('<html><body><main>' + 'word ' * 100 + '<a href="missing.html">x</a><img src="nope.png">'
                                     '<p class="const">Path(\'/work/x/configs\')</p><a href="b.html#nowhere">y</a><h2 id="here">h</h2><a href="#here">ok</a>'
                                     '<pre class="out error">Traceback (most recent call last)</pre>'
                                     '<pre class="out">| m | acc |\n|---|---|\n| x | **71.6** |\nsaved /home/alice/runs/x.json</pre></main></body></html>')
    (tmp_path / 'b.html').write_text('<html><body><main>tiny</main></body></html>')
    (tmp_path / 'consensus.html').write_text('<html><body><main>' + 'word ' * 100 + '<span class="math inline">\\tau_t</span></main></body></html>')
    (tmp_path / 'api.html').write_text('<html><body><main>' + 'word ' * 100 + '<div id="calm_nb.core.flatindex"></div></main></body></html>')
    (tmp_path / 'core.html').write_text('<html><body><main>' + 'word ' * 100 + '<p>see <code>task_vectors</code></p>'
                                        '<h3 id="flatindex" class="doc-name"><code>FlatIndex</code></h3><p>::: {.callout-note}</p>'
                                        '<div class="code"><pre><span class="err">!</span>pip</pre></div><img src="https://x.org/badge.svg">'
                                        '<pre class="sig">def run(bench, _stop_after=None)</pre>'
                                        '<div class="doc" data-level="3"><h3 id="blocks" class="doc-name"><code>blocks</code></h3><div class="table-wrap"><table class="params">'
                                        '<tbody><tr><td><code>start</code></td><td>int</td><td></td><td>first coordinate</td></tr>'
                                        '<tr><td><code>size</code></td><td>int</td><td>262144</td><td></td></tr></tbody></table></div></div></main></body></html>')
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'check_docs.py'), str(tmp_path), '--no-browser'], capture_output=True, text=True)
    assert r.returncode == 1
    for s in ('broken link missing.html', 'missing image nope.png', 'traceback', 'b.html: page is (nearly) empty',
              'b.html#nowhere lands on no element', 'raw pipe-table text', 'raw markdown emphasis: **71.6**',
              'machine-local path in the outputs: saved /home/alice', "machine-local path in the outputs: Path('/work/x", 'consensus.html: TeX mangled or missing',
              'api.html: no entry for calm_nb.core.task_vectors', 'core.html: no API entry (anchor #task_vectors)',
              'core.html: backticked names without a link to their entry: task_vectors', 'core.html: API entry #flatindex has no source links',
              'core.html: a raw callout block', 'core.html: an error token in a highlighted code block', 'core.html: an image from the web',
              'search_index.js is missing', 'core.html: a private parameter in a public signature: _stop_after',
              'core.html: API entry #blocks has parameters without a description: size'): assert s in r.stdout, (s, r.stdout)
    assert 'link #here' not in r.stdout and 'no entry for calm_nb.core.FlatIndex' not in r.stdout and 'description: start' not in r.stdout


@pytest.mark.skipif(not (shutil.which('chromium') or shutil.which('chromium-browser')), reason='Debian chromium not installed')
def test_docs_in_headless_chromium(site, tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'check_docs.py'), str(site), '--screenshots', str(tmp_path / 'shots')], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(list((tmp_path / 'shots').glob('*.png'))) == 2 * len(check_docs.SHOTS)   # at 1400 px and at 400 px


def test_wheel_has_package_and_assets(tmp_path):
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(ROOT), '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path)], check=True)
    whl = next(tmp_path.glob('calm_nb-*.whl'))
    names = zipfile.ZipFile(whl).namelist()
    for f in ('calm_nb/core.py', 'calm_nb/methods/calm.py', 'calm_nb/models.py', 'calm_nb/assets/zoo_vit_base.safetensors', 'calm_nb/assets/zoo_vit_deltas.safetensors'):
        assert f in names, f
    meta = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith('METADATA'))).decode()
    assert 'Requires-Dist: torch' in meta and 'Provides-Extra: hf' in meta
    target = tmp_path / 'site-packages'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', str(target), str(whl)], check=True)
    code = 'import calm_nb, calm_nb.zoo as z; print(calm_nb.__file__); print(len(z.load_zoo_weights()["finetuned"]))'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True, cwd=tmp_path, env={'PYTHONPATH': str(target), 'PATH': '/usr/bin:/bin'}).stdout
    assert str(target) in out and out.strip().endswith('8'), out


def test_callouts_shell_lines_doclinks_and_written_defaults():
    out = build_docs.render_md('::: {.callout-warning}\n## Mind this\nA **bold** step.\n:::\n\nand `run_calm` here')
    assert '<div class="callout callout-warning"><p class="callout-title">Mind this</p>' in out and '<strong>bold</strong>' in out and ':::' not in out
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    code = highlight('!pip -q install "calm_nb[hf]"\n%time x = 1\nimport os', build_docs.NotebookLexer(), HtmlFormatter(cssclass='code'))
    assert 'class="err"' not in code and 'import' in code
    linked = build_docs.linkify(out + '<pre><code>run_calm</code></pre>', {'run_calm': 'calm.html#run_calm'}, '../')
    assert linked.count('href="../calm.html#run_calm"') == 1            # prose linked, the code block left alone
    from calm_nb.methods.calm import CalmConfig
    assert build_docs.written_defaults(CalmConfig)['lr'] == '1e7' and 'lr: float = 1e7' in build_docs.signature(CalmConfig)
    from calm_nb.methods.calm import run_calm
    assert '_stop_after' not in build_docs.signature(run_calm)


def test_docs_check_refuses_stale_pages(tmp_path):
    "check_docs flags a page whose notebook was executed by other code (a planted fingerprint), not an archival or current one."
    sys.path.insert(0, str(ROOT / 'tools'))
    import check_docs
    def nb(name, meta):
        p = tmp_path / name
        p.write_text(json.dumps({'metadata': {'calm_nb': meta}, 'cells': [{'cell_type': 'code', 'source': ['1'], 'outputs': [{'output_type': 'stream', 'text': ['1']}]}]}))
        return p
    pages = {'stale.html': nb('stale.ipynb', {'provenance': {'hash': 'old'}}), 'now.html': nb('now.ipynb', {'provenance': {'hash': 'cur'}}),
             'kept.html': nb('kept.ipynb', {'provenance': {'hash': 'old'}, 'archival': True})}
    problems = check_docs.provenance_check(pages, current='cur')
    assert len(problems) == 1 and problems[0].startswith('stale.html: stale outputs') and 'provenance old' in problems[0], problems


def test_prose_check_catches_numbers_no_output_prints(tmp_path):
    "check_docs.prose_check: a decimal in the prose of a fingerprinted notebook must be printed by an output or listed as quoted."
    sys.path.insert(0, str(ROOT / 'tools'))
    import check_docs
    def nb(md, meta={'provenance': {'hash': 'h'}}, out='avg 82.13 and 0.5 s'):
        p = tmp_path / 'n.ipynb'
        p.write_text(json.dumps({'metadata': {'calm_nb': meta}, 'cells': [
            {'cell_type': 'code', 'source': ['x'], 'outputs': [{'output_type': 'stream', 'text': [out]}]},
            {'cell_type': 'markdown', 'source': [md]}]}))
        return check_docs.prose_check(p)
    assert nb('CALM reaches 82.1 in 0.50 s (Section 4.2, `lr=0.01`, $\\lambda=0.3$).') == []   # printed, rounded; references, code, TeX
    bad = nb('CALM reaches 82.4 here.')
    assert len(bad) == 1 and '82.4 is printed by no output' in bad[0] and 'cell 1' in bad[0], bad
    assert nb('The paper: 87.7.\n\n<!-- quoted: 87.7 (the paper) -->') == []
    stale_quote = nb('The paper: 87.8.\n\n<!-- quoted: 87.7 -->')
    assert any('lists 87.7 as quoted but no longer says it' in p for p in stale_quote) and any('87.8 is printed' in p for p in stale_quote)
    assert nb('CALM reaches 82.4 here.', meta={}) == []                                      # no fingerprint: not a result notebook
    assert nb('CALM reaches 82.4 here.', meta={'provenance': {'hash': 'h'}, 'archival': True}) == []


def test_result_notebooks_prose_matches_outputs():
    "Every fingerprinted notebook's prose passes prose_check (the numbers it quotes are printed by its run, or quoted)."
    sys.path.insert(0, str(ROOT / 'tools'))
    import check_docs
    problems = [f'{p.relative_to(ROOT)}: {m}' for p in sorted((ROOT / 'nbs').rglob('*.ipynb')) for m in check_docs.prose_check(p)]
    assert problems == [], '\n'.join(problems)


def test_run_notebook_scrubs_machine_paths():
    "Warnings in executed outputs name files by this checkout's or the environment's absolute paths; run_notebook drops them."
    sys.path.insert(0, str(ROOT / 'tools'))
    import run_notebook
    nb = {'cells': [{'cell_type': 'code', 'outputs': [
        {'output_type': 'stream', 'text': [f'{ROOT}/calm_nb/registry.py:275: SanityWarning: few\n', '/opt/env/lib/python3.11/site-packages/torch/x.py:5: UserWarning\n']},
        {'output_type': 'execute_result', 'data': {'text/plain': f'{ROOT}/nbs/x and 0.5 /tmp-free text'}}]}]}
    out = run_notebook.scrub(nb)['cells'][0]['outputs']
    assert out[0]['text'] == ['calm_nb/registry.py:275: SanityWarning: few\n', 'torch/x.py:5: UserWarning\n']
    assert out[1]['data']['text/plain'] == 'nbs/x and 0.5 /tmp-free text'
