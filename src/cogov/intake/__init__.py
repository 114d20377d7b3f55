"""cogov.intake: requests in (Open311 GeoReport v2 fields and more), validated,
stored durably with contact details apart from the case, and recorded in the ledger.
"""

from cogov.intake.catalogue import (
    Catalogue,
    GroupAttributes,
    ServiceDefinition,
    load_catalogue,
    load_group_attributes,
    service_code_for,
)
from cogov.intake.config import IntakeConfig, load_intake_config, load_or_create_token_key
from cogov.intake.errors import (
    CaseNotFound,
    CatalogueInvalid,
    IdempotencyConflict,
    IntakeError,
    InvalidRequest,
)
from cogov.intake.schemas import CaseRead, ContactRead, ServiceRequestIn, Submission
from cogov.intake.service import (
    case_for_token,
    cases_by_ids,
    contact_for,
    erase_contact,
    get_case,
    list_cases,
    parse_request,
    submit,
    validate,
)

__all__ = [
    "CaseNotFound",
    "CaseRead",
    "Catalogue",
    "CatalogueInvalid",
    "ContactRead",
    "GroupAttributes",
    "IdempotencyConflict",
    "IntakeConfig",
    "IntakeError",
    "InvalidRequest",
    "ServiceDefinition",
    "ServiceRequestIn",
    "Submission",
    "case_for_token",
    "cases_by_ids",
    "contact_for",
    "erase_contact",
    "get_case",
    "list_cases",
    "load_catalogue",
    "load_group_attributes",
    "load_intake_config",
    "load_or_create_token_key",
    "parse_request",
    "service_code_for",
    "submit",
    "validate",
]
