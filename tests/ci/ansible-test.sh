#!/usr/bin/env bash
# Run ansible-test (sanity or units) on a copy of the collection laid out as
# ansible_collections/incomes_register/certificates, which ansible-test requires.
# Usage: tests/ci/ansible-test.sh sanity|units [ansible-test options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# ansible-test builds a virtual environment per sanity test and bootstraps pip in it with a script it
# would download from outside the package registries: give it the stand-in, under the name it looks for.
ansible_test_dir=$(python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -o "pip='[0-9.]*'" "$ansible_test_dir/_internal/python_requirements.py" | head -n 1 | cut -d "'" -f 2)
mkdir -p ~/.ansible/test/cache
cp "$root/tests/ci/get_pip_standin.py" ~/.ansible/test/cache/get_pip_${pip_version//./_}.py
# IR_ANSIBLE_TEST_TREE: where the copy goes (make matrix gives each session its own).
tree=${IR_ANSIBLE_TEST_TREE:-$root/.build/ansible-test}/ansible_collections/incomes_register/certificates
rm -rf "$tree"
mkdir -p "$tree"
# Only what git would ship: tracked files and untracked ones that are not ignored.
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T - 2>/dev/null) | tar -xf - -C "$tree"
# ansible-test reads the file list from git when it can; a repository of exactly these files.
(cd "$tree" && git init -q && git add -A >/dev/null)
cd "$tree"
command=$1
shift
exec ansible-test "$command" --local --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"
