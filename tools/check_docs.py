"""Check a built docs site as a reader would. Fails on:

- a page that is (nearly) empty, a Python traceback in the outputs, a broken link or a missing image;
- a link whose `#fragment` lands on no element of its page;
- raw markdown in the text: pipe-table rows with their `|---|` rule, or `**bold**` that was never rendered;
- TeX mangled between notebook and HTML: every `$…$` / `$$…$$` of a notebook's markdown must reach its page's
  `<span class="math">` elements byte for byte (after HTML unescaping);
- an exported name (a module's `__all__`) without an API entry: functions and classes need an anchor on their
  notebook's page and on the API page, constants an entry on the API page;
- machine-local paths (home folders, temporary folders, this checkout's path) in outputs and in the API page's values;
- a backticked name of an exported function or class in prose that does not link to its entry (nbdev's doclinks);
- a page whose notebook's stored outputs carry another code's provenance fingerprint (not archival);
- prose that contradicts its outputs: in a notebook that carries a fingerprint, every decimal number of a markdown
  cell must be printed by the run (an output shows it at the quoted precision), unless the cell lists it as quoted
  from elsewhere in an HTML comment, `<!-- quoted: 87.7 3.5 -->` (the paper's numbers); integers, settings written
  `name = 0.3`, code spans, TeX and section/figure/equation numbers are not judged (`prose_check`);
- an API entry without links to its source lines and its notebook, or with a parameter whose Details cell is empty
  (every parameter needs its docment); a Quarto callout (`::: {.callout-…}`) left raw;
- code blocks with Pygments error tokens (the red boxes `!pip` lines used to get); a page that loads an image from the
  web (the Colab badge ships with the site); a site without `search_index.js` (search must work from file://).

With Debian's Chromium installed (`apt-get install chromium`), every page is also loaded headless from a local HTTP
server: it must render, and KaTeX must have typeset every equation; five pages are probed at 1400 px and at 400 px (no
sideways scroll, the content takes the width, the title whole), and search must find results over HTTP and from file://. `--screenshots DIR` saves the landing page, the API
page, the CALM page, one analysis page and the "Merge your own models" tutorial.

    python tools/check_docs.py _site [--screenshots DIR] [--no-browser]
"""
import argparse, functools, html, inspect, html.parser, http.server, importlib, json, re, shutil, subprocess, sys, tempfile, threading
from pathlib import Path
from urllib.parse import urlparse, unquote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools')); sys.path.insert(0, str(ROOT))
SHOTS = ('index.html', 'api.html', 'calm.html', 'analysis/fig07_layer_density.html', 'tutorials/merge_your_own_models.html')
LOCAL_PATH = re.compile(r'(?<![\w.])(/home/\w|/root/|/tmp/\S|/work/|/Users/\w|/private/var/|/var/folders/|[A-Z]:\\Users\\|/content/\S)')
RAW_TABLE = re.compile(r'^[ \t]*\|.*\|[ \t]*\n[ \t]*\|?[ \t]*:?-{3,}', re.M)
RAW_BOLD = re.compile(r'(?<![\w*])\*\*[^*\s][^*\n]*?\*\*(?![\w*])')


class Page(html.parser.HTMLParser):
    "Links, images, ids, visible text, output text and maths of one page."
    def __init__(self):
        super().__init__()
        self.links, self.imgs, self.ids, self.text, self.out_text, self.math = [], [], set(), [], [], []
        self._skip, self._code, self._out, self._math, self._stack = 0, 0, 0, None, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs); cls = (a.get('class') or '').split()
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag in ('img', 'script', 'link') and (a.get('src') or a.get('href')): (self.imgs if tag == 'img' else self.links).append(a.get('src') or a.get('href'))
        if tag in ('img', 'br', 'meta', 'link', 'input', 'hr', 'col', 'source', 'wbr'): return
        flags = (tag in ('script', 'style', 'nav'), tag == 'code' or 'code' in cls or 'sig' in cls,
                 bool({'out', 'out-html', 'out-md', 'out-table', 'const'} & set(cls)), tag == 'span' and 'math' in cls)
        self._stack.append((tag, flags))
        self._skip += flags[0]; self._code += flags[1]; self._out += flags[2]
        if flags[3]: self._math = []
    def handle_endtag(self, tag):
        while self._stack:
            t, flags = self._stack.pop()
            self._skip -= flags[0]; self._code -= flags[1]; self._out -= flags[2]
            if flags[3] and self._math is not None: self.math.append(''.join(self._math)); self._math = None
            if t == tag: break
    def handle_data(self, d):
        if self._math is not None: self._math.append(d)
        if self._skip: return
        if not self._code: self.text.append(d)
        if self._out: self.out_text.append(d)


def parse(f: Path) -> Page:
    p = Page(); p.feed(f.read_text(encoding='utf-8')); p.close(); return p


def notebook_pages() -> dict:
    "page path → notebook, for the notebooks build_docs renders."
    import build_docs
    return {f'{build_docs.page_name(nb)}.html': nb for nb in build_docs.notebooks()}


def static_check(site: Path) -> list[str]:
    problems, parsed = [], {f: parse(f) for f in sorted(site.rglob('*.html'))}
    for f, p in parsed.items():
        rel = f.relative_to(site).as_posix()
        text = ' '.join(' '.join(p.text).split())
        if len(text) < 200: problems.append(f'{rel}: page is (nearly) empty ({len(text)} characters of text)')
        if 'Traceback (most recent call last)' in text or 'class="out error"' in f.read_text():
            problems.append(f'{rel}: a Python traceback in the outputs')
        for href in p.links:
            u = urlparse(href)
            if u.scheme in ('http', 'https', 'mailto', 'data'): continue
            target = f if not u.path else (f.parent / unquote(u.path)).resolve()
            if not target.exists(): problems.append(f'{rel}: broken link {href}'); continue
            if u.fragment and target.suffix == '.html':
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if unquote(u.fragment) not in ids: problems.append(f'{rel}: link {href} lands on no element (no id "{unquote(u.fragment)}")')
        for src in p.imgs:
            if urlparse(src).scheme in ('http', 'https', 'data'): continue
            t = (f.parent / unquote(src)).resolve()
            if not t.exists() or t.stat().st_size < 100: problems.append(f'{rel}: missing image {src}')
        raw = '\n'.join(p.text)
        for m in RAW_TABLE.finditer(raw): problems.append(f'{rel}: raw pipe-table text: {m.group(0).splitlines()[0].strip()[:80]}')
        for m in RAW_BOLD.finditer(raw): problems.append(f'{rel}: raw markdown emphasis: {m.group(0)[:60]}')
        outs = '\n'.join(p.out_text)
        for m in {m.group(0) for m in LOCAL_PATH.finditer(outs)} | ({str(ROOT)} if str(ROOT) in outs else set()):
            line = next(l for l in outs.splitlines() if m in l)
            problems.append(f'{rel}: a machine-local path in the outputs: {line.strip()[:100]}')
    return (problems + tex_check(site, parsed) + api_check(site, parsed) + reader_check(site, parsed)
            + provenance_check({rel: nb for rel, nb in notebook_pages().items() if (site / rel).exists()})
            + [f'{rel}: {m}' for rel, nb in notebook_pages().items() if (site / rel).exists() for m in prose_check(Path(nb))])


DECIMAL = re.compile(r'(?<![\w.])[−-]?\d+\.\d+(?![\w]|\.\d)')
NOT_PROSE = re.compile(r'```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|<!--.*?-->|\]\([^)]*\)|<[^>]+>', re.S)
REFERENCE = re.compile(r'(?:Section|Sections|Sec\.|§|Eq\.|Eqs\.|Fig\.|Figs\.|Figure|Table|Tables|Appendix|arXiv:?|version|v)[\s(]*$')
QUOTED = re.compile(r'<!--\s*quoted:(.*?)-->', re.S)


def _output_numbers(nb: dict) -> list[float]:
    text = []
    for c in nb['cells']:
        for o in c.get('outputs') or []:
            if 'text' in o: text.append(''.join(o['text']))
            for k in ('text/plain', 'text/markdown', 'text/html'):
                if k in (o.get('data') or {}): text.append(''.join(o['data'][k]))
    return [float(x.replace('−', '-')) for x in DECIMAL.findall('\n'.join(text))]


def prose_check(path: Path) -> list[str]:
    """Decimal numbers in the markdown of a notebook that carries a provenance fingerprint that no output prints at the
    quoted precision and the cell does not list as quoted (`<!-- quoted: … -->`); quoted numbers the cell no longer
    says are reported too."""
    nb = json.loads(Path(path).read_text())
    meta = (nb.get('metadata') or {}).get('calm_nb') or {}
    if not meta.get('provenance') or meta.get('archival'): return []
    outs, problems = _output_numbers(nb), []
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'markdown': continue
        src = ''.join(c['source'])
        quoted = {q for m in QUOTED.findall(src) for q in DECIMAL.findall(m)}   # words there are the reader's note
        body = NOT_PROSE.sub(' ', src)
        for q in sorted(quoted - set(DECIMAL.findall(body))):
            problems.append(f'cell {i} lists {q} as quoted but no longer says it')
        for m in DECIMAL.finditer(body):
            x = m.group(0)
            before = body[max(0, m.start() - 14):m.start()]
            if x in quoted or REFERENCE.search(before) or re.search(r'=\s*$', before): continue   # a setting: `λ = 0.3`
            v, d = float(x.replace('−', '-')), len(x.split('.')[1])
            if not any(abs(abs(o) - abs(v)) <= 0.5 * 10 ** -d + 1e-9 for o in outs):
                ctx = ' '.join(body[max(0, m.start() - 50):m.end() + 20].split())
                problems.append(f'cell {i}: {x} is printed by no output of the run (…{ctx}…): print it, or list it as quoted')
    return problems


def provenance_check(pages: dict, current: str | None = None) -> list[str]:
    "Pages whose notebook's stored outputs carry another code's fingerprint (tools/run_notebook.py writes it)."
    import build_docs
    if current is None:
        from calm_nb.provenance import provenance
        current = provenance()['hash']
    problems = []
    for rel, nb in pages.items():
        why = build_docs.stale_outputs(json.loads(Path(nb).read_text()), Path(nb), current)
        if why: problems.append(f'{rel}: stale outputs: {why}')
    return problems


def _exported_names() -> set:
    "Top-level public functions and classes whose bare name is defined in one module only (what a bare backticked name links to)."
    idx, seen = importlib.import_module('calm_nb._modidx').d['syms'], {}
    for mod, syms in idx.items():
        for full in syms:
            q = full[len(mod) + 1:]
            if '.' not in q and not q.startswith('_'): seen[q] = seen.get(q, 0) + 1
    return {q for q, n in seen.items() if n == 1}


def reader_check(site: Path, parsed: dict) -> list[str]:
    "Doclinks, source links, parameters without a description, callouts, error tokens in code, web images, the file:// search index."
    problems, names = [], _exported_names()
    if parsed and not (site / 'search_index.js').exists(): problems.append('search_index.js is missing: search cannot work from file://')
    for f in parsed:
        rel, raw = f.relative_to(site).as_posix(), f.read_text(encoding='utf-8')
        prose = re.sub(r'<pre\b.*?</pre>|<h[1-6]\b.*?</h[1-6]>|<a\b.*?</a>|<script\b.*?</script>|<table class="params">.*?</table>', '', raw, flags=re.S)
        unlinked = sorted({m for m in re.findall(r'<code>([A-Za-z_]\w*)(?:\(\))?</code>', prose) if m in names and len(m) > 3})
        if unlinked and rel != 'api.html': problems.append(f'{rel}: backticked names without a link to their entry: {", ".join(unlinked[:8])}')
        for m in re.finditer(r'<h[34] id="([^"]+)" class="doc-name">.*?</h[34]>(\s*<div class="srclinks">)?', raw, flags=re.S):
            if not m.group(2): problems.append(f'{rel}: API entry #{m.group(1)} has no source links'); break
        if re.search(r'^\s*:::+\s*\{?\.callout', html.unescape(re.sub(r'<[^>]+>', '\n', raw)), flags=re.M): problems.append(f'{rel}: a raw callout block (::: {{.callout-…}})')
        if re.search(r'<div class="code"><pre>.*?<span class="err">', raw, flags=re.S): problems.append(f'{rel}: an error token in a highlighted code block (red box)')
        for src in parsed[f].imgs:
            if urlparse(src).scheme in ('http', 'https'): problems.append(f'{rel}: an image from the web ({src}); ship it with the site')
        for part in re.split(r'(?=<div class="doc" )', raw)[1:]:
            entry = re.search(r'id="([^"]+)" class="doc-name"', part)
            undocumented = re.findall(r'<tr><td><code>([^<]+)</code></td>(?:<td>[^<]*</td>){2}<td></td></tr>', part)
            if entry and undocumented:
                problems.append(f'{rel}: API entry #{entry.group(1)} has parameters without a description: {", ".join(html.unescape(u) for u in undocumented[:6])}')
        for sig in re.findall(r'<pre class="(?:sig|apisig)">(.*?)</pre>', raw, flags=re.S):
            text = html.unescape(re.sub(r'<[^>]+>', '', sig))
            if (m := re.search(r'[(,\s](_[a-z]\w*)\s*[:=]', text)): problems.append(f'{rel}: a private parameter in a public signature: {m.group(1)}'); break
            if '(…)' in text: problems.append(f'{rel}: a shortened signature: {text.strip()[:60]}'); break
    return problems


def tex_check(site: Path, parsed: dict) -> list[str]:
    "Every TeX string of a notebook's markdown is in its page's maths, unchanged."
    import build_docs
    problems = []
    for rel, nb in notebook_pages().items():
        f = (site / rel).resolve()
        if f not in parsed: continue
        have = {}
        for t in parsed[f].math: have[html.unescape(t)] = have.get(html.unescape(t), 0) + 1
        for c in json.loads(nb.read_text())['cells']:
            if c['cell_type'] != 'markdown': continue
            for tex, _ in build_docs.math_spans(''.join(c['source'])):
                if have.get(tex, 0) > 0: have[tex] -= 1
                else: problems.append(f'{rel}: TeX mangled or missing between {nb.relative_to(ROOT).as_posix()} and the page: {tex[:80]!r}')
    return problems


def api_check(site: Path, parsed: dict) -> list[str]:
    "Every exported name has an API entry: an anchor on its page (functions, classes) and an entry on the API page."
    import build_docs
    api = site / 'api.html'
    if api.resolve() not in parsed: return []
    api_ids, problems = parsed[api.resolve()].ids, []
    idx = importlib.import_module('calm_nb._modidx').d['syms']
    for mod in sorted(idx):
        m = importlib.import_module(mod)
        page = build_docs.module_page(mod)
        for name, obj in build_docs.defined_in(m):
            if f'{mod}.{name}'.lower() not in api_ids: problems.append(f'api.html: no entry for {mod}.{name}')
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and page and (site / page).resolve() in parsed and build_docs.anchor(name) not in parsed[(site / page).resolve()].ids:
                problems.append(f'{page}: no API entry (anchor #{build_docs.anchor(name)}) for the exported {mod}.{name}')
    return problems


def chromium_check(site: Path, shots: Path | None) -> list[str]:
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if not exe: print('chromium not installed: skipped the browser check (apt-get install chromium)'); return []
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(site))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f'http://127.0.0.1:{srv.server_address[1]}/'
    profile = tempfile.mkdtemp(prefix='calm_nb-chromium-')
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync', f'--user-data-dir={profile}']
    problems = []
    try:
        for f in sorted(site.rglob('*.html')):
            rel = f.relative_to(site).as_posix()
            r = subprocess.run([exe, *flags, '--virtual-time-budget=5000', '--dump-dom', base + rel], capture_output=True, text=True, timeout=120)
            dom = r.stdout
            if r.returncode != 0 or '<main>' not in dom: problems.append(f'{rel}: Chromium could not render it ({r.stderr.strip()[-200:]})'); continue
            n_math = len(re.findall(r'<span class="math (?:inline|display)">', dom))
            n_done = len(re.findall(r'<span class="math (?:inline|display)"><span class="katex', dom))
            if n_done < n_math: problems.append(f'{rel}: KaTeX typeset {n_done} of {n_math} equations')
            if 'katex-error' in dom:
                err = re.search(r'katex-error[^>]*title="([^"]*)"', dom)
                problems.append(f'{rel}: KaTeX could not parse an equation: {err.group(1)[:120] if err else "?"}')
        problems += layout_check(exe, flags, site, base)
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            for rel in SHOTS:
                if not (site / rel).exists(): problems.append(f'{rel}: page missing for its screenshot'); continue
                out = shots / (rel.replace('/', '_').replace('.html', '.png'))
                for w, h, suffix in ((1400, 1800, ''), (400, 900, '-400px')):
                    o = out.with_name(out.stem + suffix + '.png')
                    subprocess.run([exe, *flags, '--virtual-time-budget=5000', f'--window-size={w},{h}', f'--screenshot={o}', base + rel], capture_output=True, timeout=120)
                    print('screenshot', o, o.stat().st_size if o.exists() else 'missing')
                    if not o.exists() or o.stat().st_size < 10_000: problems.append(f'{rel}: screenshot at {w} px failed')
    finally:
        srv.shutdown(); shutil.rmtree(profile, ignore_errors=True)
    return problems


def _probe(exe, flags, url: str, width: int) -> dict | None:
    "The page's own layout and search probe (`?calmcheck`), run in headless Chromium at `width` px."
    r = subprocess.run([exe, *flags, '--virtual-time-budget=8000', f'--window-size={width},900', '--dump-dom', url], capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="calmcheck">(.*?)</pre>', r.stdout)
    return json.loads(html.unescape(m.group(1))) if m else None


def layout_check(exe, flags, site: Path, base: str) -> list[str]:
    "At 1400 px and at 400 px: no page-wide horizontal scroll, the content takes the width (the sidebar behind its menu"
    " button on a phone), the title is not cut; search finds results over HTTP and from file://."
    problems = []
    for rel in SHOTS:
        if not (site / rel).exists(): continue
        for width in (1400, 400):
            r = _probe(exe, flags, base + rel + '?calmcheck', width)
            if r is None: problems.append(f'{rel} at {width} px: the layout probe did not run'); continue
            if r['sw'] > r['w'] + 1: problems.append(f'{rel} at {width} px: the page scrolls sideways ({r["sw"]} px wide in a {r["w"]} px window)')
            if width == 400 and (r['navRight'] > 1 or r['main'] < 0.9 * r['w']):
                problems.append(f'{rel} at 400 px: the sidebar takes room from the content (content {r["main"]:.0f} of {r["w"]} px)')
            if r['h1cut']: problems.append(f'{rel} at {width} px: the title is cut off')
    for where, url in (('over HTTP', base + 'index.html?calmcheck=search'), ('from file://', (site / 'index.html').resolve().as_uri() + '?calmcheck=search')):
        r = _probe(exe, flags, url, 1400)
        if r is None or r['hits'] <= 0: problems.append(f'index.html: search {where} found nothing for "merge" ({r})')
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('site'); ap.add_argument('--screenshots'); ap.add_argument('--no-browser', action='store_true')
    a = ap.parse_args()
    site = Path(a.site)
    pages = list(site.rglob('*.html'))
    if not pages: sys.exit(f'{site}: no HTML pages')
    problems = static_check(site) + ([] if a.no_browser else chromium_check(site, Path(a.screenshots) if a.screenshots else None))
    for p in problems: print('PROBLEM', p)
    print(f'{len(pages)} pages checked, {len(problems)} problems')
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
