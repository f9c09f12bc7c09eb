import pytest

from webhook_service.config import Config
from webhook_service.ssrf import NetworkList, Target, UnsafeUrl, check_url, parse_networks

FAKE = {"internal.example.com": ["10.0.0.1"], "public.example.com": ["93.184.216.34"],
        "mixed.example.com": ["93.184.216.34", "127.0.0.1"], "v6.example.com": ["2606:2800:220:1::1"]}


def resolver(host, port):
    if host not in FAKE:
        raise OSError("nxdomain")
    return FAKE[host]


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://internal.example.com/hook",
    "http://mixed.example.com/hook",
    "http://127.0.0.1:8080/",
    "http://localhost-that-does-not-resolve.invalid/",
    "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.0.1/",
    "http://100.64.0.1/", "http://100.100.100.200/",
    "http://0.0.0.0/", "http://224.0.0.1/", "http://240.0.0.1/", "http://255.255.255.255/",
    "http://[::1]/", "http://[fe80::1]/", "http://[fc00::1]/", "http://[fd00:ec2::254]/", "http://[ff02::1]/",
    "http://[2002:a00:1::]/",  # 6to4 wrapping 10.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 wrapping 10.0.0.1
    "ftp://93.184.216.34/", "file:///etc/passwd", "gopher://93.184.216.34/", "javascript:alert(1)",
    "http://user:pass@public.example.com/", "http:///nohost", "http://public.example.com:99999/",
])
def test_refused(url):
    with pytest.raises(UnsafeUrl):
        check_url(url, [], resolver)


def test_a_name_resolving_to_a_private_address_is_refused_with_the_reason():
    with pytest.raises(UnsafeUrl, match="10.0.0.1, a private address"):
        check_url("https://internal.example.com/", [], resolver)


def test_metadata_is_named():
    with pytest.raises(UnsafeUrl, match="metadata"):
        check_url("http://169.254.169.254/", [], resolver)


def test_public_address_gives_the_checked_target():
    target = check_url("https://public.example.com/hooks?x=1#frag", [], resolver)
    assert target == Target(scheme="https", host="public.example.com", port=443, address="93.184.216.34",
                            path="/hooks?x=1", host_header="public.example.com")
    target = check_url("http://public.example.com:8080", [], resolver)
    assert (target.address, target.port, target.path, target.host_header) == (
        "93.184.216.34", 8080, "/", "public.example.com:8080")
    assert check_url("http://v6.example.com/", [], resolver).address == "2606:2800:220:1::1"


def test_allowed_networks_open_only_their_ranges():
    allowed = parse_networks(["127.0.0.0/8", "::1/128"])
    assert check_url("http://127.0.0.1:9000/hook", allowed, resolver).address == "127.0.0.1"
    assert check_url("http://[::1]:9000/hook", allowed, resolver).host_header == "[::1]:9000"
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://[::ffff:127.0.0.1]/",
                "http://[::ffff:10.0.0.1]/"):
        with pytest.raises(UnsafeUrl):
            check_url(url, allowed, resolver)


def test_allowed_networks_only_refuse_every_other_address_even_a_public_one():
    allowed = parse_networks(NetworkList(["127.0.0.0/8"], only=True))
    assert allowed.only and check_url("http://127.0.0.1:9000/", allowed, resolver).address == "127.0.0.1"
    for url in ("http://93.184.216.34/", "https://public.example.com/", "http://v6.example.com/",
                "http://mixed.example.com/", "http://10.0.0.1/"):
        with pytest.raises(UnsafeUrl, match="outside the allowed networks|private"):
            check_url(url, allowed, resolver)
    with pytest.raises(UnsafeUrl, match="outside the allowed networks"):
        check_url("http://8.8.8.8/", parse_networks(NetworkList([], only=True)), resolver)


def test_the_setting_reaches_the_checks_however_it_is_set(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS_ONLY", "true")
    config = Config()
    assert config.WEBHOOK_ALLOWED_NETWORKS == ["127.0.0.0/8"] and config.WEBHOOK_ALLOWED_NETWORKS.only
    with pytest.raises(UnsafeUrl, match="outside the allowed networks"):
        check_url("http://93.184.216.34/", parse_networks(config.WEBHOOK_ALLOWED_NETWORKS), resolver)
    config.WEBHOOK_ALLOWED_NETWORKS_ONLY = False
    assert check_url("http://93.184.216.34/", parse_networks(config.WEBHOOK_ALLOWED_NETWORKS), resolver)
    overridden = Config(WEBHOOK_ALLOWED_NETWORKS=["::1/128"], WEBHOOK_ALLOWED_NETWORKS_ONLY=True)
    assert overridden.WEBHOOK_ALLOWED_NETWORKS.only
    monkeypatch.delenv("WEBHOOK_ALLOWED_NETWORKS_ONLY")
    assert not Config().WEBHOOK_ALLOWED_NETWORKS.only
