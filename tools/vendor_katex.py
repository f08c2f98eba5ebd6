"""Vendor KaTeX from the npm registry into tools/docs_assets/katex/, so the docs site renders its maths offline.

    python tools/vendor_katex.py [--version 0.19.1]

Downloads the package tarball from registry.npmjs.org, checks it against the registry's sha512 `integrity`, and keeps
what the site needs: katex.min.js, katex.min.css, the woff2 fonts and the licence. `tools/build_docs.py` copies the
folder into every site it builds; the pages load it relatively, so nothing is fetched when they are read.
"""
import argparse, base64, hashlib, io, json, shutil, tarfile, urllib.request
from pathlib import Path

DEST = Path(__file__).resolve().parent / 'docs_assets' / 'katex'
KEEP = ('package/dist/katex.min.js', 'package/dist/katex.min.css', 'package/LICENSE')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--version', default='0.19.1')
    a = ap.parse_args()
    meta = json.load(urllib.request.urlopen(f'https://registry.npmjs.org/katex/{a.version}'))
    blob = urllib.request.urlopen(meta['dist']['tarball']).read()
    algo, _, want = meta['dist']['integrity'].partition('-')
    got = base64.b64encode(hashlib.new(algo, blob).digest()).decode()
    if got != want: raise SystemExit(f'katex {a.version}: the tarball does not match the registry integrity ({algo})')
    shutil.rmtree(DEST, ignore_errors=True); (DEST / 'fonts').mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for m in tar.getmembers():
            if m.name in KEEP: (DEST / Path(m.name).name).write_bytes(tar.extractfile(m).read())
            elif m.name.startswith('package/dist/fonts/') and m.name.endswith('.woff2'):
                (DEST / 'fonts' / Path(m.name).name).write_bytes(tar.extractfile(m).read())
    (DEST / 'VERSION.json').write_text(json.dumps({'package': 'katex', 'version': a.version, 'tarball': meta['dist']['tarball'],
                                                    'integrity': meta['dist']['integrity']}, indent=1) + '\n')
    print(f'katex {a.version} → {DEST} ({sum(f.stat().st_size for f in DEST.rglob("*") if f.is_file()) / 1e3:.0f} kB)')


if __name__ == '__main__':
    main()
