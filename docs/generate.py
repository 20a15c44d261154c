"""Write the reference pages in docs/modules and docs/roles from what ansible-doc --json reports.

    python docs/generate.py           rewrite the pages
    python docs/generate.py --check   rewrite nothing; exit 1 and name every page that differs from
                                      what the modules' and roles' documentation gives

The pages are generated so that they cannot drift from the DOCUMENTATION, EXAMPLES and RETURN of the
modules and from roles/*/meta/argument_specs.yml: edit those, then run this script. It needs
ansible-core and antsibull-docs-parser (both in the project's .venv), and reads the collection from
this working tree only, never from a copy installed elsewhere.
"""

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml
from antsibull_docs_parser import dom
from antsibull_docs_parser.format import Formatter, LinkProvider, format_paragraphs
from antsibull_docs_parser.parser import Context, Whitespace, parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, 'docs')
ANSIBLE_DOCS = 'https://docs.ansible.com/ansible/latest/collections/%s/%s/%s_%s.html'
# GitHub renders a README.md below the file list of its directory: the index of the reference pages.
INDEX = 'README.md'
# Characters that would start Markdown or HTML syntax inside running text. An underscore inside a word
# (check_mode) starts nothing on GitHub, so only one at a word's edge is escaped.
_MARKDOWN_SPECIAL = re.compile(r'[\\`*\[\]<]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])')


def escape(text):
    return _MARKDOWN_SPECIAL.sub(lambda match: '\\' + match.group(0), text)


def code(text):
    """A Markdown code span that survives backticks inside the text."""
    fence = '`'
    while fence in text:
        fence += '`'
    padding = ' ' if text.startswith('`') or text.endswith('`') else ''
    return '%s%s%s%s%s' % (fence, padding, text, padding, fence)


class MarkdownFormatter(Formatter):
    """Ansible markup (O(), V(), C(), M(), RV(), U(), L(), I(), B() ...) as plain GitHub Markdown."""

    def format_error(self, part):
        # The parser runs with errors='exception', so a markup error never gets this far.
        raise ValueError(part.message)

    def format_bold(self, part):
        return '**%s**' % escape(part.text)

    def format_code(self, part):
        return code(part.text)

    def format_horizontal_line(self, part):
        return '<hr>'

    def format_italic(self, part):
        return '*%s*' % escape(part.text)

    def format_link(self, part):
        return '[%s](%s)' % (escape(part.text), part.url)

    def format_module(self, part, url):
        return '[%s](%s)' % (escape(part.fqcn), url) if url else code(part.fqcn)

    def format_rst_ref(self, part):
        return escape(part.text)

    def format_url(self, part):
        return '<%s>' % part.url

    def format_text(self, part):
        return escape(part.text)

    def format_env_variable(self, part):
        return code(part.name)

    def _option_like(self, part, url):
        text = code(part.name if part.value is None else '%s=%s' % (part.name, part.value))
        return '[%s](%s)' % (text, url) if url else text

    def format_option_name(self, part, url):
        return self._option_like(part, url)

    def format_option_value(self, part):
        return code(part.value)

    def format_plugin(self, part, url):
        return '[%s](%s)' % (escape(part.plugin.fqcn), url) if url else code(part.plugin.fqcn)

    def format_return_value(self, part, url):
        return self._option_like(part, url)


def anchor(what, names, entrypoint=None):
    """The HTML id of an option or return value row; nested names are joined with '/'."""
    prefix = 'parameter' if what == 'option' else 'return'
    if entrypoint:
        prefix += '-' + entrypoint + '-'
    return '%s-%s' % (prefix, '/'.join(names))


class PageLinks(LinkProvider):
    """Links from a page in docs/modules or docs/roles: this collection's pages, docs.ansible.com for others."""

    def __init__(self, collection):
        self.collection = collection

    def plugin_link(self, plugin):
        namespace, name, short = plugin.fqcn.split('.', 2)
        if '%s.%s' % (namespace, name) == self.collection:
            return '../%s/%s.md' % ('roles' if plugin.type == 'role' else 'modules', short)
        return ANSIBLE_DOCS % (namespace, name, short, plugin.type)

    def plugin_option_like_link(self, plugin, entrypoint, what, name, current_plugin):
        if plugin.type == 'role' and what == 'retval':
            # Role argument specs have no return values to point at.
            return None
        target = '#' + anchor(what, name, entrypoint)
        if current_plugin:
            return target
        if plugin.fqcn.startswith(self.collection + '.'):
            return self.plugin_link(plugin) + target
        return None


class Renderer(object):
    """Markdown for one plugin's documentation."""

    def __init__(self, collection, fqcn, plugin_type, entrypoint=None, short_descriptions=None):
        self.links = PageLinks(collection)
        self.plugin = dom.PluginIdentifier(fqcn=fqcn, type=plugin_type)
        self.entrypoint = entrypoint
        self.short_descriptions = short_descriptions or {}

    def paragraphs(self, text):
        if text is None:
            return []
        if isinstance(text, str):
            text = [text]
        parsed = parse(text, Context(current_plugin=self.plugin, role_entrypoint=self.entrypoint),
                       errors='exception', whitespace=Whitespace.STRIP)
        return [format_paragraphs([paragraph], formatter=MarkdownFormatter(), link_provider=self.links,
                                  current_plugin=self.plugin).strip()
                for paragraph in parsed]

    def inline(self, text):
        """All paragraphs in one table cell."""
        return '<br><br>'.join(self.paragraphs(text))

    def bullets(self, text):
        return ['- ' + paragraph for paragraph in self.paragraphs(text)]

    def options_table(self, options, child_key='suboptions'):
        # A role's argument spec nests its suboptions under 'options', a module's documentation under 'suboptions'.
        rows = ['| Parameter | Type | Required | Default | Choices | Description |',
                '| --- | --- | --- | --- | --- | --- |']
        for names, spec in _walk(options, child_key):
            cells = [
                '<a id="%s"></a>%s' % (anchor('option', names, self.entrypoint), code('.'.join(names))),
                _type(spec),
                'yes' if spec.get('required') else '',
                _value(spec['default']) if 'default' in spec else '',
                ', '.join(_value(choice) for choice in spec.get('choices') or []),
                self.inline(spec.get('description')) + _aliases(spec) + _added(spec),
            ]
            rows.append(_row(cells))
        return rows

    def returns_table(self, returns):
        rows = ['| Key | Type | Returned | Description |', '| --- | --- | --- | --- |']
        for names, spec in _walk(returns, 'contains'):
            description = self.inline(spec.get('description'))
            if spec.get('choices'):
                description += '<br><br>Choices: ' + ', '.join(_value(choice) for choice in spec['choices'])
            if 'sample' in spec:
                description += '<br><br>Sample: ' + _value(spec['sample'])
            cells = ['<a id="%s"></a>%s' % (anchor('retval', names), code('.'.join(names))),
                     _type(spec), self.inline(spec.get('returned')), description + _added(spec)]
            rows.append(_row(cells))
        return rows

    def seealso(self, entries):
        lines = []
        for entry in entries:
            if 'module' in entry:
                target = dom.PluginIdentifier(fqcn=entry['module'], type='module')
                link = '[%s](%s)' % (escape(entry['module']), self.links.plugin_link(target))
                description = entry.get('description') or self.short_descriptions.get(entry['module'], '')
            elif 'plugin' in entry:
                target = dom.PluginIdentifier(fqcn=entry['plugin'], type=entry['plugin_type'])
                link = '[%s](%s)' % (escape(entry['plugin']), self.links.plugin_link(target))
                description = entry.get('description', '')
            elif 'link' in entry:
                link = '[%s](%s)' % (escape(entry['name']), entry['link'])
                description = entry.get('description', '')
            else:
                link = escape(entry['name'])
                description = entry.get('description', '')
            lines.append('- ' + link + (': ' + self.inline(description) if description else ''))
        return lines


def _walk(specs, child_key, parents=()):
    for name in sorted(specs):
        spec = specs[name]
        names = list(parents) + [name]
        yield names, spec
        yield from _walk(spec.get(child_key) or {}, child_key, names)


def _type(spec):
    kind = spec.get('type', 'str')
    if spec.get('elements'):
        kind += ' / elements=' + spec['elements']
    return kind


def _value(value):
    if isinstance(value, str):
        return code(value) if value else code('""')
    return code(json.dumps(value, sort_keys=True))


def _aliases(spec):
    return '<br><br>Aliases: ' + ', '.join(code(alias) for alias in spec['aliases']) if spec.get('aliases') else ''


def _added(spec):
    return '<br><br>Added in version %s.' % spec['version_added'] if spec.get('version_added') else ''


def _row(cells):
    # A pipe inside a cell ends the cell, even inside a code span, unless escaped.
    return '| ' + ' | '.join(cell.replace('|', '\\|') for cell in cells) + ' |'


def _header(source):
    return ['<!-- Generated by docs/generate.py from %s; edit it there, then run `python docs/generate.py`. -->'
            % source, '']


def module_page(collection, fqcn, data, short_descriptions):
    doc = data['doc']
    name = doc['module']
    render = Renderer(collection, fqcn, 'module', short_descriptions=short_descriptions)
    lines = _header('plugins/modules/%s.py' % name)
    lines += ['# %s' % fqcn, '', escape(doc['short_description']), '']
    if doc.get('version_added'):
        lines += ['Added in version %s of %s.' % (doc['version_added'], doc.get('version_added_collection', collection)),
                  '']
    lines += ['## Synopsis', ''] + render.bullets(doc.get('description')) + ['']
    if doc.get('requirements'):
        lines += ['## Requirements', '', 'The host that runs the module needs:', '']
        lines += ['- ' + escape(requirement) for requirement in doc['requirements']] + ['']
    lines += ['## Parameters', ''] + render.options_table(doc.get('options') or {}) + ['']
    if doc.get('attributes'):
        lines += ['## Attributes', '', '| Attribute | Support | Description |', '| --- | --- | --- |']
        for attribute, spec in sorted(doc['attributes'].items()):
            support = spec.get('support', '')
            if spec.get('platforms'):
                support += '<br>Platforms: ' + escape(', '.join(_as_list(spec['platforms'])))
            description = render.inline(spec.get('description'))
            if spec.get('details'):
                description += '<br><br>' + render.inline(spec['details'])
            lines.append(_row([code(attribute), support, description]))
        lines.append('')
    if doc.get('notes'):
        lines += ['## Notes', ''] + render.bullets(doc['notes']) + ['']
    if doc.get('seealso'):
        lines += ['## See also', ''] + render.seealso(doc['seealso']) + ['']
    if data.get('examples'):
        lines += ['## Examples', '', '```yaml', data['examples'].strip('\n'), '```', '']
    if data.get('return'):
        lines += ['## Return values', '', 'Common return values are documented in '
                  '[Ansible\'s return values reference](https://docs.ansible.com/ansible/latest/reference_appendices/'
                  'common_return_values.html); the fields unique to this module are:', '']
        lines += render.returns_table(data['return']) + ['']
    lines += _authors(doc.get('author'))
    return '\n'.join(lines)


def role_page(collection, fqcn, data):
    name = fqcn.rsplit('.', 1)[1]
    lines = _header('roles/%s/meta/argument_specs.yml' % name)
    lines += ['# %s (role)' % fqcn, '', '```yaml', '- hosts: all', '  roles:', '    - role: %s' % fqcn, '```', '']
    for entrypoint, spec in sorted(data['entry_points'].items()):
        render = Renderer(collection, fqcn, 'role', entrypoint=entrypoint)
        lines += ['## Entry point `%s`: %s' % (entrypoint, escape(spec.get('short_description', ''))), '']
        lines += render.bullets(spec.get('description')) + ['']
        lines += ['### Parameters', ''] + render.options_table(spec.get('options') or {}, 'options') + ['']
        lines += _authors(spec.get('author'), level='###')
    return '\n'.join(lines)


def index_page(collection, modules, roles):
    lines = _header("the modules' and roles' own documentation")
    lines += ['# %s reference' % collection, '',
              'One page per module and role, generated from their own documentation '
              '(the same text `ansible-doc` shows).', '', '## Modules', '',
              '| Module | Description |', '| --- | --- |']
    for fqcn, data in sorted(modules.items()):
        lines.append(_row(['[%s](%s.md)' % (fqcn, data['doc']['module']), escape(data['doc']['short_description'])]))
    lines += ['', '## Roles', '', '| Role | Description |', '| --- | --- |']
    for fqcn, data in sorted(roles.items()):
        main = data['entry_points'].get('main', {})
        lines.append(_row(['[%s](../roles/%s.md)' % (fqcn, fqcn.rsplit('.', 1)[1]),
                           escape(main.get('short_description', ''))]))
    lines.append('')
    return '\n'.join(lines)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _authors(authors, level='##'):
    if not authors:
        return []
    return ['%s Authors' % level, ''] + ['- ' + escape(author) for author in _as_list(authors)] + ['']


def _ansible_doc():
    # The ansible-doc of the interpreter running this script, so `.venv/bin/python docs/generate.py`
    # uses the project's ansible-core even when another one is first on PATH.
    beside = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    found = beside if os.access(beside, os.X_OK) else shutil.which('ansible-doc')
    if not found:
        raise SystemExit('ansible-doc not found: run this script with the Python of an environment that has '
                         'ansible-core (make setup creates .venv: .venv/bin/python docs/generate.py).')
    return found


def collect(collection):
    """(modules, roles): ansible-doc --json output per FQCN, for this working tree's plugins and roles."""
    namespace, name = collection.split('.')
    module_names = sorted(entry[:-3] for entry in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                          if entry.endswith('.py') and entry != '__init__.py')
    roles_dir = os.path.join(ROOT, 'roles')
    role_names = sorted(entry for entry in os.listdir(roles_dir)
                        if os.path.exists(os.path.join(roles_dir, entry, 'meta', 'argument_specs.yml')))
    with tempfile.TemporaryDirectory() as tree:
        os.makedirs(os.path.join(tree, 'ansible_collections', namespace))
        os.symlink(ROOT, os.path.join(tree, 'ansible_collections', namespace, name))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=tree, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
                   ANSIBLE_NOCOLOR='1')

        def run(plugin_type, names):
            if not names:
                return {}
            command = [_ansible_doc(), '--json', '-t', plugin_type] + ['%s.%s' % (collection, n) for n in names]
            completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tree, check=False)
            if completed.returncode != 0:
                raise SystemExit('%s failed:\n%s' % (' '.join(command), completed.stderr))
            result = json.loads(completed.stdout)
            missing = sorted(set('%s.%s' % (collection, n) for n in names) - set(result))
            if missing:
                raise SystemExit('ansible-doc returned no documentation for %s:\n%s'
                                 % (', '.join(missing), completed.stderr))
            return result

        return run('module', module_names), run('role', role_names)


def expected_pages():
    """{path relative to docs/: content} for every generated page."""
    with open(os.path.join(ROOT, 'galaxy.yml'), encoding='utf-8') as handle:
        galaxy = yaml.safe_load(handle)
    collection = '%s.%s' % (galaxy['namespace'], galaxy['name'])
    modules, roles = collect(collection)
    short_descriptions = dict((fqcn, data['doc']['short_description']) for fqcn, data in modules.items())
    pages = {os.path.join('modules', INDEX): index_page(collection, modules, roles)}
    for fqcn, data in modules.items():
        pages[os.path.join('modules', data['doc']['module'] + '.md')] = module_page(
            collection, fqcn, data, short_descriptions)
    for fqcn, data in roles.items():
        pages[os.path.join('roles', fqcn.rsplit('.', 1)[1] + '.md')] = role_page(collection, fqcn, data)
    return pages


def generated_files():
    """Pages now in the generated directories (all of their .md files are generated)."""
    found = set()
    for folder in ('modules', 'roles'):
        directory = os.path.join(DOCS, folder)
        if os.path.isdir(directory):
            found.update(os.path.join(folder, entry) for entry in os.listdir(directory) if entry.endswith('.md'))
    return found


def _read(path):
    try:
        with open(os.path.join(DOCS, path), encoding='utf-8') as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def check(pages):
    problems = []
    for path, content in sorted(pages.items()):
        current = _read(path)
        if current is None:
            problems.append('docs/%s is missing' % path)
        elif current != content:
            diff = list(difflib.unified_diff(current.splitlines(), content.splitlines(), 'docs/' + path,
                                             'generated', lineterm='', n=1))
            problems.append('docs/%s differs from the documentation it is generated from:\n%s'
                            % (path, '\n'.join(diff[:40] + (['...'] if len(diff) > 40 else []))))
    for path in sorted(generated_files() - set(pages)):
        problems.append('docs/%s documents a module or role that no longer exists' % path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print('\n%d stale page(s): run python docs/generate.py and commit the result.' % len(problems),
              file=sys.stderr)
        return 1
    print('%d generated pages are up to date.' % len(pages))
    return 0


def write(pages):
    for path in sorted(generated_files() - set(pages)):
        os.unlink(os.path.join(DOCS, path))
        print('removed docs/%s' % path)
    for path, content in sorted(pages.items()):
        if _read(path) != content:
            os.makedirs(os.path.dirname(os.path.join(DOCS, path)), exist_ok=True)
            with open(os.path.join(DOCS, path), 'w', encoding='utf-8') as handle:
                handle.write(content)
            print('wrote docs/%s' % path)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 and name the pages that are missing or out of date')
    args = parser.parse_args()
    pages = expected_pages()
    return check(pages) if args.check else write(pages)


if __name__ == '__main__':
    sys.exit(main())
