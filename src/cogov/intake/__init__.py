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
    AlreadyRated,
    CaseNotFound,
    CatalogueInvalid,
    IdempotencyConflict,
    IntakeError,
    InvalidRequest,
)
from cogov.intake.schemas import CaseRating, CaseRead, ContactRead, ServiceRequestIn, Submission
from cogov.intake.service import (
    RATING_KIND,
    IntakeBatch,
    case_for_token,
    cases_by_ids,
    contact_for,
    erase_contact,
    get_case,
    list_cases,
    parse_request,
    rate_case,
    rating_for_case,
    submit,
    validate,
)

__all__ = [
    "RATING_KIND",
    "AlreadyRated",
    "CaseNotFound",
    "CaseRating",
    "CaseRead",
    "Catalogue",
    "CatalogueInvalid",
    "ContactRead",
    "GroupAttributes",
    "IdempotencyConflict",
    "IntakeBatch",
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
    "rate_case",
    "rating_for_case",
    "service_code_for",
    "submit",
    "validate",
]
