"""Packaging for calm_nb. Every setting lives in settings.ini (nbdev 2); edit there, not here."""
import shlex
from configparser import ConfigParser

import setuptools

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

cfg_keys = 'version description keywords author author_email'.split()
expected = cfg_keys + 'lib_name user branch license status min_python audience language'.split()
for o in expected: assert o in cfg, f'missing expected setting: {o}'
setup_cfg = {o: cfg[o] for o in cfg_keys}

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable']
py_versions = '3.10 3.11 3.12 3.13'.split()

requirements = shlex.split(cfg.get('requirements', ''))
hf_requirements = shlex.split(cfg.get('hf_requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', '')) + hf_requirements
# FusionBench, for benchmarks/parity_fusion_bench.py only (a separate environment; never a runtime requirement)
parity_requirements = shlex.split(cfg.get('parity_requirements', ''))
lic = licenses[cfg['license'].lower()]
project_urls = {'Documentation': cfg['doc_host'] + cfg.get('doc_baseurl', ''),
                'Source': cfg['git_url'], 'Issues': cfg['git_url'] + '/issues'}

setuptools.setup(
    name=cfg['lib_name'],
    license=lic[0],
    classifiers=['Development Status :: ' + statuses[int(cfg['status']) - 1],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Natural Language :: ' + cfg['language'].title(),
                 'License :: ' + lic[1]]
                + ['Programming Language :: Python :: ' + o for o in py_versions[py_versions.index(cfg['min_python']):]],
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=['calm_nb', 'calm_nb.*']),
    include_package_data=True,
    package_data={'calm_nb': ['assets/*', 'configs/*']},
    install_requires=requirements,
    extras_require={'hf': hf_requirements, 'dev': dev_requirements, 'parity': parity_requirements},
    python_requires='>=' + cfg['min_python'],
    long_description=open('README.md', encoding='utf8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f'{cfg.get("lib_path")}={cfg.get("lib_path")}._modidx:d']},
    project_urls=project_urls,
    **setup_cfg)
