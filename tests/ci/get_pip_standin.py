"""Stand-in for the get-pip.py script that ansible-test downloads into ~/.ansible/test/cache.

ansible-test fetches that script from a host outside the package registries, which this project's
machines cannot reach. This does the same job with the standard library's ensurepip and then pip
itself from the package index: ansible-test runs it inside each fresh virtual environment with
pip's install arguments (for example `pip==24.2 --no-setuptools --no-wheel`).
"""
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet']
                      + [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS])
