"""Each built-in secret family finds its (fake) token; ordinary text stays clean."""

from __future__ import annotations

import json
import random
import string

import pytest

from promptgate.guardrails import BUILTIN_RULES, SecretScanner
from promptgate.guardrails._secret_rules import SecretRule

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"


def fake_token(alphabet: str, size: int, seed: int = 7) -> str:
    """Random-looking characters built at test time; never a real credential."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(size))


def _samples() -> list[tuple[str, str, str]]:
    """(rule id, text holding a fake secret, the fake secret)."""
    t = fake_token
    items = []

    def add(rule: str, secret: str, template: str = "here it is: {} ok") -> None:
        items.append((rule, template.format(secret), secret))

    add("aws-access-key-id", "AKIA" + t("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
    add("aws-access-key-id", "ASIA" + t("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 2))
    add("aws-secret-access-key", t(B64, 40), "AWS_SECRET_ACCESS_KEY={}\n")
    add("aws-secret-access-key", t(B64, 40, 3), 'aws_secret_access_key = "{}"')
    add("gcp-service-account", "service_account", '{{"type": "{}", "project_id": "p"}}')
    add("gcp-service-account-key-id", t(HEX, 40), '"private_key_id": "{}",')
    add("gcp-api-key", "AIza" + t(URLSAFE, 35))
    add("google-oauth-client-secret", "GOCSPX-" + t(URLSAFE, 28))
    add(
        "azure-storage-account-key",
        t(B64, 86) + "==",
        "AccountName=x;AccountKey={};EndpointSuffix=x",
    )
    add("azure-shared-access-key", t(B64, 43) + "=", "Endpoint=sb://x/;SharedAccessKey={}")
    add("azure-ad-client-secret", "abc8Q~" + t(URLSAFE, 34), "client secret {} end")
    add("github-pat", "ghp_" + t(ALNUM, 36))
    add("github-oauth-token", "gho_" + t(ALNUM, 36))
    add("github-app-token", "ghs_" + t(ALNUM, 36))
    add("github-app-token", "ghu_" + t(ALNUM, 36, 4))
    add("github-refresh-token", "ghr_" + t(ALNUM, 36))
    add("github-fine-grained-pat", "github_pat_" + t(ALNUM, 22) + "_" + t(ALNUM, 59))
    add("gitlab-pat", "glpat-" + t(URLSAFE, 20))
    add("gitlab-runner-token", "glrt-" + t(URLSAFE, 20))
    add(
        "slack-token",
        "xoxb-" + t("0123456789", 12) + "-" + t("0123456789", 12) + "-" + t(ALNUM, 24),
    )
    add(
        "slack-token",
        "xoxp-" + t("0123456789", 11) + "-" + t("0123456789", 11) + "-" + t(ALNUM, 32),
    )
    add("slack-app-token", "xapp-1-A" + t("ABCDEFGHIJ0123456789", 10) + "-1234567890-" + t(HEX, 64))
    add(
        "slack-webhook",
        "https://hooks.slack.com/services/T"
        + t("ABCDEFGH0123", 8)
        + "/B"
        + t("ABC012", 8)
        + "/"
        + t(ALNUM, 24),
    )
    add("stripe-secret-key", "sk_live_" + t(ALNUM, 24))
    add("stripe-secret-key", "rk_live_" + t(ALNUM, 24, 5))
    add("openai-api-key", "sk-" + t(ALNUM, 20) + "T3BlbkFJ" + t(ALNUM, 20))
    add("openai-project-key", "sk-proj-" + t(URLSAFE, 120))
    add("anthropic-api-key", "sk-ant-api03-" + t(URLSAFE, 93) + "AA")
    add("promptgate-token", "pg_live_" + t(ALNUM, 32))
    add(
        "private-key",
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + t(B64, 64)
        + "\n"
        + t(B64, 64, 9)
        + "\n-----END RSA PRIVATE KEY-----",
    )
    add(
        "private-key",
        "-----BEGIN PRIVATE KEY-----\\n" + t(B64, 64) + "\\n-----END PRIVATE KEY-----",
        '{{"private_key": "{}\\n"}}',
    )
    add("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + t(URLSAFE, 43))
    add("database-url-password", "Hx7" + t(ALNUM, 13), "DATABASE_URL=postgres://app:{}@db:5432/app")
    add("database-url-password", t(ALNUM, 16), "mongodb+srv://root:{}@cluster0.example.net/x")
    add("database-url-password", t(ALNUM, 12), "redis://:{}@cache:6379/0")
    add("database-url-password", t(ALNUM, 12), "amqp://guest:{}@rabbit:5672/")
    add("database-url-password", t(ALNUM, 12), "mysql://u:{}@localhost/db")
    add("generic-password", "Xk9" + t(ALNUM, 17), "DB_PASSWORD={}\n")
    add("generic-api-key", "q1" + t(ALNUM, 30), "api_key: {}\n")
    add("generic-api-key", "q1" + t(ALNUM, 30), '{{"apiKey": "{}"}}')
    add("generic-secret", "Zz8" + t(ALNUM, 29), "CLIENT_SECRET='{}'")
    add("generic-token", "a1" + t(ALNUM, 30), "  auth_token: {}\n")
    add("npm-token", "npm_" + t(ALNUM, 36))
    add("pypi-token", "pypi-AgEIcHlwaS5vcmc" + t(URLSAFE, 60))
    add("twilio-api-key", "SK" + t(HEX, 32))
    add("sendgrid-api-key", "SG." + t(URLSAFE, 22) + "." + t(URLSAFE, 43))
    add("mailgun-api-key", "key-" + t(HEX, 32))
    add("shopify-token", "shpat_" + t(HEX, 32))
    add("huggingface-token", "hf_" + t(ALNUM, 34))
    add("digitalocean-token", "dop_v1_" + t(HEX, 64))
    add("heroku-api-key", "HRKU-" + t(URLSAFE, 60))
    add(
        "heroku-api-key",
        "-".join(t(HEX, n, n) for n in (8, 4, 4, 4, 12)),
        "HEROKU_API_KEY={}",
    )
    add("datadog-api-key", t(HEX, 32), "DD_API_KEY={}")
    add(
        "discord-webhook",
        "https://discord.com/api/webhooks/123456789012345678/" + t(URLSAFE, 68),
    )
    add("discord-bot-token", "M" + t(ALNUM, 23) + "." + t(URLSAFE, 6) + "." + t(URLSAFE, 27))
    add("telegram-bot-token", "123456789:AA" + t(URLSAFE, 33))
    add("hashicorp-vault-token", "hvs." + t(URLSAFE, 24))
    add("linear-api-key", "lin_api_" + t(ALNUM, 40))
    add("doppler-token", "dp.pt." + t(ALNUM, 43))
    add("age-secret-key", "AGE-SECRET-KEY-1" + t("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58))
    add("sentry-token", "sntrys_" + t(ALNUM, 80))
    add("grafana-token", "glsa_" + t(ALNUM, 32) + "_" + t(HEX, 8))
    add("postman-api-key", "PMAK-" + t(HEX, 24) + "-" + t(HEX, 34))
    add("mailchimp-api-key", t(HEX, 32) + "-us12")
    add("url-basic-auth", "Hx7" + t(ALNUM, 13), "git clone https://bob:{}@git.example.net/r.git")
    add("authorization-header", t(URLSAFE, 40), "curl -H 'Authorization: Bearer {}' https://x")
    add("authorization-header", t(URLSAFE, 40, 2), 'headers = {{"x-api-key": "{}"}}')
    add("curl-user-password", "Q7" + t(ALNUM, 12), "curl -u deploy:{} https://ci.example.net")
    add("netrc-password", t(ALNUM, 20), "machine api.example.net login bob password {}\n")
    add("docker-config-auth", t(B64, 32), '{{"auths": {{"ghcr.io": {{"auth": "{}"}}}}}}')
    add("npmrc-auth", t(B64, 32), "//registry.example.net/:_auth={}\n")
    add("kubeconfig-client-key", t(B64, 120), "    client-key-data: {}\n")
    add("aws-bedrock-api-key", "ABSK" + t(B64, 120))
    add("databricks-token", "dapi" + t(HEX, 32))
    add("gitlab-token", "glcbt-" + t(URLSAFE, 24))
    add("grafana-cloud-token", "glc_" + t(B64, 60))
    add("huggingface-org-token", "api_org_" + t(string.ascii_letters, 34))
    add("new-relic-key", "NRAK-" + t(string.ascii_uppercase + string.digits, 27))
    add("perplexity-api-key", "pplx-" + t(ALNUM, 48))
    add("groq-api-key", "gsk_" + t(ALNUM, 52))
    add("xai-api-key", "xai-" + t(ALNUM, 80))
    add("openrouter-api-key", "sk-or-v1-" + t(HEX, 64))
    add("replicate-api-token", "r8_" + t(ALNUM, 37))
    add("planetscale-token", "pscale_tkn_" + t(ALNUM, 43))
    add("prefect-api-key", "pnu_" + t(ALNUM, 36))
    add("pulumi-token", "pul-" + t(HEX, 40))
    add("rubygems-token", "rubygems_" + t(HEX, 48))
    add("slack-config-token", "xoxe.xoxp-1-" + t(string.ascii_uppercase + string.digits, 150))
    add("square-token", "sq0atp-" + t(URLSAFE, 22))
    add("stripe-webhook-secret", "whsec_" + t(ALNUM, 32))
    add("hashicorp-vault-batch-token", "hvb." + t(URLSAFE, 150))
    add("atlassian-api-token", "ATATT3" + t(URLSAFE, 186))
    add("flyio-token", "fo1_" + t(URLSAFE, 43))
    add("google-oauth-access-token", "ya29." + t(URLSAFE, 60))
    caps = string.ascii_uppercase + string.digits
    add(
        "onepassword-token",
        "A3-" + "-".join(t(caps, n, n) for n in (6, 11, 5, 5, 5)),
    )
    add("cloudflare-origin-ca-key", "v1.0-" + t(HEX, 24) + "-" + t(HEX, 146))
    add("generic-password", "Pa$$w0rd_" + t(ALNUM, 6), "PASSWORD={}\n")
    add("generic-password", "it's-a-s3cr" + t(ALNUM, 4), 'password="{}"')
    add("generic-password", "ab'cd3f" + t(ALNUM, 6), "DB_PASSWORD={} # a quote inside")
    return items


SAMPLES = _samples()


@pytest.fixture(scope="module")
def scanner() -> SecretScanner:
    return SecretScanner(BUILTIN_RULES)


def test_there_are_at_least_thirty_families() -> None:
    assert len({r.id for r in BUILTIN_RULES}) >= 30
    assert len({r.id for r in BUILTIN_RULES}) == len(BUILTIN_RULES)


def test_every_family_has_a_sample() -> None:
    assert {rule for rule, _, _ in SAMPLES} == {r.id for r in BUILTIN_RULES}


@pytest.mark.parametrize(("rule", "text", "secret"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_rule_finds_its_secret(scanner: SecretScanner, rule: str, text: str, secret: str) -> None:
    found = scanner.scan(text)
    assert [(m.rule, m.value) for m in found] == [(rule, secret)]
    assert text[found[0].start : found[0].end] == secret


@pytest.mark.parametrize(("rule", "text", "secret"), SAMPLES, ids=[s[0] for s in SAMPLES])
@pytest.mark.parametrize("lines", [("one line\n", ""), ("", "\nnext line"), ("a\n", "\nb")])
def test_rule_finds_its_secret_on_a_line_of_longer_text(
    scanner: SecretScanner, rule: str, text: str, secret: str, lines: tuple[str, str]
) -> None:
    # Anchors are written `(?m:^)` / `(?m:$)`: they hold at each newline,
    # where the character class beside them takes the newline anyway.
    found = scanner.scan(lines[0] + text + lines[1])
    assert [(m.rule, m.value) for m in found] == [(rule, secret)]


def test_every_rule_is_counted_from_joined_strings() -> None:
    # No anchor that holds only at a string's own start or end: every rule's
    # joined matches may refuse a body before its strings are walked.
    assert all(SecretScanner(BUILTIN_RULES)._patterns.unanchored)


@pytest.mark.parametrize(("rule", "text", "secret"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_rule_finds_its_secret_inside_json_text(
    scanner: SecretScanner, rule: str, text: str, secret: str
) -> None:
    # A pasted config file arrives as text with JSON quoting around it.
    found = scanner.scan(json.dumps({"pasted": text}))
    assert rule in {m.rule for m in found}


@pytest.mark.parametrize(("rule", "text", "secret"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_findings_never_show_the_value(
    scanner: SecretScanner, rule: str, text: str, secret: str
) -> None:
    for match in scanner.scan(text):
        assert secret not in repr(match)
        assert secret not in str(match)


CLEAN = [
    "def next_token(self) -> Token:\n    token = self.lexer.next_token()\n    return token\n",
    "password = os.environ['DB_PASSWORD']\nsecret = settings.SECRET\n",
    'api_key = get_api_key()\ntoken: str = ""\npassword: str = Field(..., min_length=8)\n',
    "id = 550e8400-e29b-41d4-a716-446655440000 and 6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b\nMerge: 1a2b3c4 5d6e7f8",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "version 1.2.3, 10.0.19041.1, v2.0.0-rc.1, 2024-01-15T12:30:45.123Z, 1700000000000",
    'package.json: {"name": "x", "version": "4.17.21", "dependencies": {"lodash": "^4.17.21"}}',
    "DATABASE_URL=postgres://user:${DB_PASSWORD}@localhost/db",
    "postgres://localhost:5432/app and https://user@example.com/path",
    "PASSWORD=changeme  # dev only",
    "The quick brown fox jumps over the lazy dog. " * 20,
    "import base64\nAKIA = 'prefix'\nclass TokenKind(Enum): ...",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC user@host",
    "token_count = count_tokens(messages)\nmax_tokens=4096\n",
    'password="${DB_PASSWORD}" and PASSWORD=$DB_PASSWORD1 and pwd: "{{ vault_pw2 }}"',
    "api_key = '<your-api-key-1>' and secret: %(secret_key1)s and token=%API_TOKEN%",
    "token = self.tokens[0]\nsecret = config['secret2']\n",
    "git push -u origin main && curl -u $USER:$PASS https://x",
    "Authorization: Bearer $TOKEN and Authorization: Bearer <token> and x-api-key: ${KEY}",
    "https://user:password@example.com and ftp://anonymous:guest@ftp.example.org",
]


@pytest.mark.parametrize("text", CLEAN)
def test_ordinary_text_has_no_secrets(scanner: SecretScanner, text: str) -> None:
    assert scanner.scan(text) == ()


def test_keyword_gates_a_rule() -> None:
    rule = SecretRule("acme", r"[a-z0-9]{32}", ("acme",))
    scanner = SecretScanner([rule])
    value = fake_token("abcdefghij0123456789", 32)
    assert scanner.scan(f"x {value} y") == ()
    assert [m.rule for m in scanner.scan(f"ACME_KEY {value}")] == ["acme"]


def test_entropy_threshold_drops_repetitive_values() -> None:
    scanner = SecretScanner([SecretRule("acme", r"acme_([a-z0-9]{16})", ("acme_",), 3.0)])
    assert scanner.scan("acme_" + "a" * 16) == ()
    assert len(scanner.scan("acme_" + fake_token("abcdefghij0123456789", 16))) == 1


def test_allowlist_drops_matching_values() -> None:
    key = "AKIA" + "EXAMPLE" + "X" * 9
    scanner = SecretScanner(BUILTIN_RULES, allowlist=["EXAMPLE"])
    assert scanner.scan(f"key {key}") == ()


def test_most_specific_rule_wins_over_generic() -> None:
    pat = "ghp_" + fake_token(ALNUM, 36)
    found = SecretScanner(BUILTIN_RULES).scan(f"GITHUB_TOKEN={pat}")
    assert [m.rule for m in found] == ["github-pat"]


def test_spans_are_characters_in_non_ascii_text(scanner: SecretScanner) -> None:
    key = "AKIA" + fake_token("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    text = f"clé: é ü 日本 {key} 🎉"
    [match] = scanner.scan(text)
    assert text[match.start : match.end] == key


def test_repeated_text_is_served_from_cache(scanner: SecretScanner) -> None:
    text = "cached " + "AKIA" + fake_token("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 11)
    first = scanner.scan(text)
    assert scanner.scan("".join(list(text))) is first
