"""Check a built docs site as a reader would: every page loads, links and images resolve, no Python tracebacks in
outputs, no empty pages. With Debian's Chromium installed (`apt-get install chromium`), every page is also loaded
headless from a local HTTP server and screenshots of the landing page and one analysis page are saved.

    python tools/check_docs.py _site [--screenshots DIR]
"""
import argparse, functools, html.parser, http.server, shutil, subprocess, sys, threading
from pathlib import Path
from urllib.parse import urlparse, unquote


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.links, self.imgs, self.ids, self.text, self._skip = [], [], set(), [], 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag in ('img', 'script', 'link') and (a.get('src') or a.get('href')): (self.imgs if tag == 'img' else self.links).append(a.get('src') or a.get('href'))
        if tag in ('script', 'style', 'nav'): self._skip += 1
    def handle_endtag(self, tag):
        if tag in ('script', 'style', 'nav'): self._skip = max(0, self._skip - 1)
    def handle_data(self, d):
        if not self._skip: self.text.append(d)


def static_check(site: Path) -> list[str]:
    problems = []
    for f in sorted(site.rglob('*.html')):
        p = Page(); p.feed(f.read_text())
        text = ' '.join(' '.join(p.text).split())
        rel = f.relative_to(site)
        if len(text) < 200: problems.append(f'{rel}: page is (nearly) empty ({len(text)} characters of text)')
        if 'Traceback (most recent call last)' in text or 'class="out error"' in f.read_text():
            problems.append(f'{rel}: a Python traceback in the outputs')
        for href in p.links:
            u = urlparse(href)
            if u.scheme in ('http', 'https', 'mailto', 'data') or href.startswith('#'): continue
            target = (f.parent / unquote(u.path)).resolve()
            if not target.exists(): problems.append(f'{rel}: broken link {href}')
        for src in p.imgs:
            if urlparse(src).scheme in ('http', 'https', 'data'): continue
            t = (f.parent / unquote(src)).resolve()
            if not t.exists() or t.stat().st_size < 100: problems.append(f'{rel}: missing image {src}')
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
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars']
    problems = []
    try:
        for f in sorted(site.rglob('*.html')):
            rel = f.relative_to(site).as_posix()
            r = subprocess.run([exe, *flags, '--virtual-time-budget=3000', '--dump-dom', base + rel], capture_output=True, text=True, timeout=120)
            if r.returncode != 0 or '<main>' not in r.stdout: problems.append(f'{rel}: Chromium could not render it ({r.stderr.strip()[-200:]})')
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            analysis = sorted(p.relative_to(site).as_posix() for p in site.glob('analysis/*.html'))
            for rel in ['index.html'] + analysis[:1]:
                out = shots / (rel.replace('/', '_').replace('.html', '.png'))
                subprocess.run([exe, *flags, '--virtual-time-budget=5000', '--window-size=1280,1700', f'--screenshot={out}', base + rel], capture_output=True, timeout=120)
                print('screenshot', out, out.stat().st_size if out.exists() else 'missing')
                if not out.exists() or out.stat().st_size < 10_000: problems.append(f'{rel}: screenshot failed')
    finally: srv.shutdown()
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
