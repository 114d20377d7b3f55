"""The Open311 extension's records module imports the web's wording at the top of the
module, with no import cycle: the citizen's page imports the module in turn."""

from __future__ import annotations

import subprocess
import sys


def _fresh_interpreter(code: str) -> None:
    """Run ``code`` in a new Python, where nothing is imported yet; fail with its error."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


class TestNoImportCycle:
    # The loaded modules are checked before anything else is imported.
    ALSO = (
        "from cogov.api import create_app\n"
        "from cogov.web.app import mount\n"
        "from cogov.web.routes.citizen import receive\n"
        "from cogov.api.open311.records import agent_outputs, explain\n"
    )

    def test_records_imports_the_wording_at_the_top_without_the_pages(self) -> None:
        _fresh_interpreter(
            "import sys\n"
            "import cogov.api.open311.records as records\n"
            "assert 'cogov.web.explain' in sys.modules, 'explain not imported at the top'\n"
            "assert records.explain is sys.modules['cogov.web.explain']\n"
            "pages = sorted(m for m in sys.modules if m.startswith('cogov.web.routes'))\n"
            "assert not pages, pages\n" + self.ALSO
        )

    def test_the_citizen_page_may_be_imported_first(self) -> None:
        # The page imports records (receive), which imports the web's wording.
        _fresh_interpreter("import cogov.web.routes.citizen\n" + self.ALSO)

    def test_the_wording_imports_alone_without_pages_or_the_api(self) -> None:
        _fresh_interpreter(
            "import sys\n"
            "import cogov.web.explain\n"
            "loaded = sorted(\n"
            "    m for m in sys.modules\n"
            "    if m.startswith(('cogov.web.routes', 'cogov.web.pages', 'cogov.api', 'fastapi'))\n"
            ")\n"
            "assert not loaded, loaded\n"
        )
