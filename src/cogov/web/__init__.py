"""cogov.web: the server-rendered web UI (Jinja2 + htmx) in English and Simplified
Chinese, for citizens, reviewers, administrators, auditors and the public.

The HTTP application (:func:`cogov.api.app.create_app`) calls
:func:`cogov.web.app.mount` to add the pages to itself; pages use the API's unit of
work and sign-in dependencies.

Importing this package, or its wording modules (:mod:`cogov.web.i18n`,
:mod:`cogov.web.templating`, :mod:`cogov.web.explain`), loads no page and no route:
the Open311 extension words its answers with them at the top of its modules, while
the citizen's page imports that extension to take a request. An import-linter
contract in pyproject.toml keeps those modules clear of the HTTP layers.
"""
