"""A Sphinx extension for the rendered book: fixes for what a reader's browser shows.

Loaded by ``_config.yml`` (``sphinx.local_extensions``); ``tests/test_rendered_book.py`` checks the
result in Chromium.

- Scripts registered twice are written once. sphinx-thebe (loaded by Jupyter Book) registers its
  inline ``const THEBE_JS_URL = ...`` script twice, and the second copy is a JavaScript error on
  every page ("Identifier 'THEBE_JS_URL' has already been declared").
- The theme starts in light mode. pydata-sphinx-theme reads the mode from the browser's storage
  or from ``default_mode``; with neither, a first visit logs "Got invalid theme mode" as an error.
- ``static/reader.css``: printed output wraps at the column's width instead of hiding behind a
  horizontal scroll bar.
"""

from pathlib import Path


def _write_each_script_once(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for js in scripts:
            # an inline script is registered with filename None by one extension, "" by another
            key = (getattr(js, "filename", js) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
            if key not in seen:
                seen.add(key)
                unique.append(js)
        scripts[:] = unique


def _light_mode_by_default(app, config):
    config.html_context.setdefault("default_mode", "light")


def setup(app):
    app.connect("config-inited", _light_mode_by_default)
    app.connect("html-page-context", _write_each_script_once, priority=900)
    app.connect("builder-inited", lambda app: app.config.html_static_path.append(str(Path(__file__).parent / "static")))
    app.add_css_file("reader.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
