from marketplace_shared.testing import check_service_basics


def test_error_envelope_and_health_check(client):
    check_service_basics(client)
