"""The review service's own error codes (beyond the shared ones), and the `details.reason` of its refusals."""

REVIEW_NOT_FOUND = "REVIEW_NOT_FOUND"

# details.reason of a 403 or 409.
OWN_REVIEW = "OWN_REVIEW"
REVIEW_EXISTS = "REVIEW_EXISTS"
ALREADY_VOTED = "ALREADY_VOTED"
ALREADY_REPORTED = "ALREADY_REPORTED"
