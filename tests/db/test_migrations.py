"""The tables the code declares and the tables the migrations build must agree."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import cogov
from cogov.db.base import Base
from cogov.db.migrate import alembic_config, current_revisions, head_revisions


def _import_all_models() -> None:
    for module in pkgutil.walk_packages(cogov.__path__, "cogov."):
        if module.name.endswith(".models"):
            importlib.import_module(module.name)


class TestMigrations:
    def test_database_is_at_head(self, engine: Engine) -> None:
        # Alembic records only the tips: a head that another branch depends on
        # (``depends_on``) is applied but not listed, so compare what is applied.
        script = ScriptDirectory.from_config(alembic_config(engine))
        applied = {
            revision.revision
            for revision in script.iterate_revisions(tuple(current_revisions(engine)), "base")
        }
        assert head_revisions(engine) <= applied

    def test_revision_ids_fit_alembic_version(self, engine: Engine) -> None:
        # alembic_version.version_num is VARCHAR(32): PostgreSQL refuses a longer id
        # when the migration ends, SQLite would store it silently.
        script = ScriptDirectory.from_config(alembic_config(engine))
        too_long = [r.revision for r in script.walk_revisions() if len(r.revision) > 32]
        assert too_long == []

    def test_models_match_migrations(self, engine: Engine) -> None:
        _import_all_models()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = [
                diff
                for diff in compare_metadata(context, Base.metadata)
                if not (
                    isinstance(diff, tuple)
                    and diff[0] == "remove_table"
                    and diff[1].name == "alembic_version"
                )
            ]
        assert differences == []
