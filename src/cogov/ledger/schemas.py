from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Responsible(BaseModel):
    """Who answers for one step, as far as known. ``None`` means not involved or unknown.

    developer: the agent version and model hash (who built it); deployer: the
    configuration hash and who deployed it; operator: the human who acted (e.g. a
    reviewer); guardian: the named human guardian of the agent.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    developer: str | None = None
    deployer: str | None = None
    operator: str | None = None
    reviewer: str | None = None
    guardian: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in self.model_dump().items() if value is not None}
