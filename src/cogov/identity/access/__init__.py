"""cogov.identity.access: how staff and machines prove who they are, and how often
the public may write.

* API tokens for machines: a random 32-byte secret shown once, stored as its SHA-256.
* Web sessions for browsers: a random secret in an HttpOnly cookie, stored as its
  SHA-256, with a synchronizer CSRF token and an absolute and an idle expiry. A
  password change (``reset_password``) ends every session of that user; their API
  tokens stay until revoked.
* Rate buckets: a token bucket per client kept in the database, so the limit holds
  across every worker process of every server.

No HTTP here: the api package turns these into headers, cookies and statuses.
"""

from cogov.identity.access.errors import (
    AccessError,
    InvalidCredentials,
    InvalidTokenInput,
    TokenNotFound,
)
from cogov.identity.access.schemas import (
    ApiTokenRead,
    IssuedApiToken,
    PasswordReset,
    RateDecision,
    SignedIn,
    WebSessionRead,
)
from cogov.identity.access.service import (
    authenticate_api_token,
    end_web_session,
    get_api_token,
    issue_api_token,
    list_api_tokens,
    open_web_session,
    reset_password,
    resolve_web_session,
    revoke_api_token,
    sign_in_with_password,
    take_rate_token,
)

__all__ = [
    "AccessError",
    "ApiTokenRead",
    "InvalidCredentials",
    "InvalidTokenInput",
    "IssuedApiToken",
    "PasswordReset",
    "RateDecision",
    "SignedIn",
    "TokenNotFound",
    "WebSessionRead",
    "authenticate_api_token",
    "end_web_session",
    "get_api_token",
    "issue_api_token",
    "list_api_tokens",
    "open_web_session",
    "reset_password",
    "resolve_web_session",
    "revoke_api_token",
    "sign_in_with_password",
    "take_rate_token",
]
