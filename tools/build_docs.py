"""Build calm_nb's documentation site from the notebooks with Python only (Quarto, which `nbdev_docs` needs, cannot be
installed everywhere): one HTML page per notebook with its prose, code, outputs and figures, an API reference page
generated from the exported functions' signatures and docstrings, a sidebar and a client-side search.

    python tools/build_docs.py                 # render the notebooks as stored (outputs where they have them)
    python tools/build_docs.py --execute       # execute every notebook first (quick settings: CALM_NB_QUICK=1), then render
    python tools/check_docs.py _site           # check links, images, tracebacks, empty pages; headless Chromium when installed

Users with Quarto get the same pages from the same notebooks with `nbdev_docs` (see _quarto.yml).
"""
import argparse, base64, html, importlib, inspect, json, os, re, shutil, sys, time
from pathlib import Path
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
MD = MarkdownIt('commonmark', {'html': True}).enable('table').enable('strikethrough')
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
SECTIONS = (('Start', lambda p: p.name == 'index.ipynb'), ('Library', lambda p: p.parent == NBS and p.name != 'index.ipynb'),
            ('Analyses', lambda p: p.parent.name == 'analysis'), ('Tutorials', lambda p: p.parent.name == 'tutorials'))


def page_name(nb: Path) -> str:
    "nbdev's page naming: the notebook's path under nbs/ without a leading number prefix (00_core → core)."
    rel = nb.relative_to(NBS).with_suffix('')
    return '/'.join(re.sub(r'^\d+[a-z]?_', '', part) for part in rel.parts)


def notebooks() -> list[Path]:
    out = [NBS / 'index.ipynb'] + sorted(p for p in NBS.glob('[0-9]*.ipynb'))
    for sub in ('analysis', 'tutorials'): out += sorted((NBS / sub).glob('*.ipynb')) if (NBS / sub).exists() else []
    return [p for p in out if p.exists()]


def execute(nb_path: Path) -> dict:
    "The notebook executed by `run_notebook.execute` (errors kept as outputs), as plain JSON."
    sys.path.insert(0, str(ROOT / 'tools'))
    from run_notebook import execute as run
    nb = run(nb_path, exc_stop=False)
    return json.loads(json.dumps(nb, default=lambda o: dict(o) if hasattr(o, 'keys') else str(o)))


def directives(src: str) -> dict:
    return {m.group(1): m.group(2).strip() for l in src.splitlines() if (m := re.match(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*)$', l))}


def strip_directives(src: str) -> str:
    return '\n'.join(l for l in src.splitlines() if not re.match(r'^\s*#\s*\|', l)).strip('\n')


def fix_links(md: str) -> str:
    "Links to other notebooks point at their pages."
    def rep(m):
        target = m.group(2)
        if target.startswith(('http:', 'https:', '#', 'mailto:')) or '.ipynb' not in target: return m.group(0)
        path, _, anchor = target.partition('#')
        path = re.sub(r'^(\./)?nbs/', '', path)   # README-relative links (nbs/x.ipynb) from the landing page: the pages sit at the site's root
        name = re.sub(r'(^|/)\d+[a-z]?_', r'\1', path.replace('.ipynb', '.html'))
        return f'{m.group(1)}({name}{"#" + anchor if anchor else ""})'
    return re.sub(r'(\[[^\]]*\])\(([^)\s]+)\)', rep, md)


def render_outputs(outputs: list, page: str, k: int, assets: Path, depth: str) -> str:
    parts = []
    for j, o in enumerate(outputs):
        t = o.get('output_type')
        if t == 'stream':
            parts.append(f'<pre class="out">{html.escape(ANSI.sub("", "".join(o.get("text", ""))))}</pre>')
        elif t == 'error':
            tb = ANSI.sub('', '\n'.join(o.get('traceback', [])))
            parts.append(f'<pre class="out error">{html.escape(tb)}</pre>')
        elif t in ('execute_result', 'display_data'):
            d = o.get('data', {})
            if 'image/png' in d:
                fn = f'{page.replace("/", "_")}-{k}-{j}.png'
                (assets / fn).write_bytes(base64.b64decode(''.join(d['image/png'])))
                parts.append(f'<img class="fig" src="{depth}assets/{fn}" alt="figure">')
            elif 'image/svg+xml' in d: parts.append(''.join(d['image/svg+xml']))
            elif 'text/html' in d: parts.append(f'<div class="out-html">{"".join(d["text/html"])}</div>')
            elif 'text/markdown' in d: parts.append(f'<div class="out-md">{MD.render(fix_links("".join(d["text/markdown"])))}</div>')
            elif 'text/plain' in d: parts.append(f'<pre class="out">{html.escape(ANSI.sub("", "".join(d["text/plain"])))}</pre>')
    return '\n'.join(parts)


def render_notebook(nb: dict, page: str, assets: Path, depth: str) -> tuple[str, str, str]:
    "(title, body html, plain text for search)."
    cells, body, text, title = nb['cells'], [], [], page
    for k, c in enumerate(cells):
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            if k == 0 and (m := re.match(r'^#\s+(.+)', src)): title = m.group(1).strip()
            body.append(f'<section class="md">{MD.render(fix_links(src))}</section>'); text.append(src)
        elif c['cell_type'] == 'code':
            d = directives(src)
            hide = 'hide' in d or d.get('echo', '').lower() == 'false' or 'default_exp' in d
            code = strip_directives(src)
            out = render_outputs(c.get('outputs', []), page, k, assets, depth)
            if not code and not out: continue
            block = '' if hide or not code else highlight(code, PythonLexer(), HtmlFormatter(nowrap=False, cssclass='code'))
            if 'hide' in d and 'default_exp' not in d and not out: continue
            body.append(f'<div class="cell">{block}{out}</div>'); text.append(code)
    return title, '\n'.join(body), '\n'.join(text)


def api_page() -> tuple[str, str]:
    "An API reference generated from every exported module's __all__: signature, first docstring paragraph, link to its notebook."
    sys.path.insert(0, str(ROOT))
    idx = importlib.import_module('calm_nb._modidx').d['syms']
    rows, text = [], []
    for mod in sorted(idx):
        m = importlib.import_module(mod)
        doc = (m.__doc__ or '').strip().split('\n')[0]
        rows.append(f'<h2 id="{mod}">{mod}</h2><p class="moddoc">{html.escape(doc)}</p>')
        for name in getattr(m, '__all__', []):
            obj = getattr(m, name, None)
            if obj is None or not (inspect.isfunction(obj) or inspect.isclass(obj)): continue
            try: sig = str(inspect.signature(obj))
            except (TypeError, ValueError): sig = '(…)'
            ds = html.escape((inspect.getdoc(obj) or '').split('\n\n')[0])
            link = idx[mod].get(f'{mod}.{name}', ('', ''))[0]
            kind = 'class' if inspect.isclass(obj) else 'def'
            rows.append(f'<div class="api"><code><span class="kw">{kind}</span> <a href="{link}">{name}</a>{html.escape(sig)}</code><p>{ds}</p></div>')
            text.append(f'{name} {ds}')
    return '\n'.join(rows), '\n'.join(text)


CSS = """
body{margin:0;font:16px/1.55 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2433}
.layout{display:flex;min-height:100vh}
nav{width:250px;flex:none;background:#f4f6fa;border-right:1px solid #dde2ea;padding:1rem;position:sticky;top:0;height:100vh;overflow:auto;box-sizing:border-box}
nav h1{font-size:1.2rem;margin:0 0 .6rem}nav h3{font-size:.8rem;text-transform:uppercase;color:#667;margin:1rem 0 .3rem}
nav a{display:block;color:#234;text-decoration:none;padding:.12rem .3rem;border-radius:4px;font-size:.92rem}nav a.cur{background:#dbe6ff;font-weight:600}
#q{width:100%;box-sizing:border-box;padding:.35rem;border:1px solid #bbc;border-radius:4px}#hits a{font-size:.85rem}
main{flex:1;max-width:980px;padding:1.5rem 2.5rem;min-width:0}
pre{overflow-x:auto;padding:.6rem .8rem;border-radius:6px;font-size:.85rem}
.code pre{background:#f6f8fa;border:1px solid #e3e7ee}
pre.out{background:none;border-left:3px solid #f4a582;margin:.2rem 0 .8rem .6rem;white-space:pre-wrap}
pre.error{border-left-color:#c00;color:#900}
img.fig{max-width:min(100%,780px);display:block;margin:.4rem 0 1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}td,th{border:1px solid #d5dae3;padding:.25rem .55rem}th{background:#f1f4f9}
blockquote{margin:0;padding:.2rem 1rem;color:#555;border-left:4px solid #9ab;font-style:italic}
.api{margin:.5rem 0 1rem}.api code{font-size:.88rem}.kw{color:#a0a}.moddoc{color:#555}
"""
JS = """
let idx=null;const q=document.getElementById('q'),hits=document.getElementById('hits');
q.addEventListener('input',async()=>{if(!idx){idx=await (await fetch(q.dataset.root+'search.json')).json();}
const s=q.value.trim().toLowerCase();hits.innerHTML='';if(s.length<2)return;
idx.filter(p=>p.title.toLowerCase().includes(s)||p.text.toLowerCase().includes(s)).slice(0,12)
.forEach(p=>{const a=document.createElement('a');a.href=q.dataset.root+p.url;a.textContent=p.title;hits.appendChild(a);});});
"""


def page_html(title, body, nav, depth):
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)} – calm_nb</title><link rel="icon" href="data:,"><link rel="stylesheet" href="{depth}site.css"><link rel="stylesheet" href="{depth}pygments.css">
<script>window.MathJax={{tex:{{inlineMath:[['$','$']]}}}};</script><script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>
</head><body><div class="layout"><nav><h1><a href="{depth}index.html">calm_nb</a></h1>
<input id="q" placeholder="Search…" data-root="{depth}"><div id="hits"></div>{nav}</nav>
<main>{body}</main></div><script>{JS}</script></body></html>"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT / '_site'))
    ap.add_argument('--execute', action='store_true', help='execute the notebooks before rendering (quick settings unless --full)')
    ap.add_argument('--full', action='store_true', help='with --execute: full settings (analysis notebooks run minutes each)')
    ap.add_argument('--only', nargs='*', help='render only these notebooks (paths), for a fast preview')
    a = ap.parse_args()
    out = Path(a.out); shutil.rmtree(out, ignore_errors=True); (out / 'assets').mkdir(parents=True)
    if a.execute and not a.full: os.environ.setdefault('CALM_NB_QUICK', '1')
    os.environ.setdefault('MPLBACKEND', 'Agg')
    nbs = [Path(p).resolve() for p in a.only] if a.only else notebooks()
    pages, failed = [], []
    for p in nbs:
        t0 = time.perf_counter()
        nb = execute(p) if a.execute else json.loads(p.read_text())
        errs = [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
        if errs: failed.append(p.name)
        name = page_name(p)
        depth = '../' * name.count('/')
        title, body, text = render_notebook(nb, name, out / 'assets', depth)
        pages.append({'name': name, 'title': title, 'body': body, 'text': text, 'path': p, 'depth': depth})
        print(f'{p.relative_to(ROOT)} → {name}.html ({time.perf_counter() - t0:.1f} s){" ERRORS" if errs else ""}', flush=True)
    api_body, api_text = api_page()
    pages.append({'name': 'api', 'title': 'API reference', 'body': '<h1>API reference</h1>' + api_body, 'text': api_text, 'path': None, 'depth': ''})
    for pg in pages:
        nav = []
        for sec, pred in SECTIONS + (('Reference', lambda p: p is None),):
            items = [q for q in pages if (q['path'] is None and sec == 'Reference') or (q['path'] is not None and pred(q['path']) and sec != 'Reference')]
            if not items: continue
            nav.append(f'<h3>{sec}</h3>' + ''.join(f'<a class="{"cur" if q is pg else ""}" href="{pg["depth"]}{q["name"]}.html">{html.escape(q["title"])}</a>' for q in items))
        f = out / f'{pg["name"]}.html'; f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(page_html(pg['title'], pg['body'], ''.join(nav), pg['depth']))
    (out / 'site.css').write_text(CSS + (NBS / 'styles.css').read_text() if (NBS / 'styles.css').exists() else CSS)
    (out / 'pygments.css').write_text(HtmlFormatter(cssclass='code').get_style_defs('.code'))
    (out / 'search.json').write_text(json.dumps([{'url': f'{p["name"]}.html', 'title': p['title'], 'text': p['text'][:20000]} for p in pages]))
    print(f'wrote {len(pages)} pages to {out}')
    if failed: sys.exit(f'notebooks with errors: {", ".join(failed)}')


if __name__ == '__main__':
    main()
