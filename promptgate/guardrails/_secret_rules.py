"""The built-in secret rules, written from each provider's documented token format.

A rule finds candidates with an RE2 regex; the secret is the first capture
group that took part in the match, or the whole match when there is none.
Keywords (lower case) gate the rule: it runs only on text containing one of
them, so a rule costs nothing on text that cannot hold its secret. Entropy
thresholds apply where the shape alone is weak (generic assignments, keys
that are plain base64 or hex).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SecretRule:
    """One secret family: an id for findings, a regex, its keywords and checks."""

    id: str
    regex: str
    keywords: tuple[str, ...]
    min_entropy: float | None = None
    # Generic assignments also match code (`token = next_token()`); real
    # credentials mix letters and digits.
    needs_letter_and_digit: bool = False
    # Values that are template syntax (`${DB_PASSWORD}`, `{{ vault_pw }}`)
    # name a secret kept elsewhere.
    drops_templates: bool = False


# Values after `=` or `:` in generic assignments, in one of three spellings:
# double-quoted, single-quoted (the other quote may sit inside), or bare (any
# character but whitespace, separators and brackets; quotes and `$` may sit
# inside, not at either end).
# JSON pasted as text keeps its escaped quotes (`\"key\": \"value\"`).
# Templates (`${X}`, `$X`, `{{ x }}`, `<password>`) are dropped after the
# match (`SecretRule.drops_templates`).
_VALUE = (
    r"""(?:\\?"([^"\\\s]{8,})\\?"|'([^'\\\s]{8,})'"""
    r"""|([^\s"'\\,;<>{}()\[\]|`][^\s\\,;<>{}()\[\]|`]{6,}[^\s"'\\,;<>{}()\[\]|`]))"""
)
_ASSIGN = r"""\\?["']?\s*(?::=|=>|=|:)\s*"""


def _generic(rule_id: str, names: str, keywords: tuple[str, ...]) -> SecretRule:
    # No counted repetition before the value: counters multiply DFA states and
    # random base64 text would then fall off the fast path.
    regex = rf"(?i)(?:{names})[a-z0-9_.-]*{_ASSIGN}{_VALUE}"
    return SecretRule(
        rule_id,
        regex,
        keywords,
        min_entropy=3.0,
        needs_letter_and_digit=True,
        drops_templates=True,
    )


BUILTIN_RULES: tuple[SecretRule, ...] = (
    SecretRule(
        "aws-access-key-id",
        r"\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})\b",
        ("akia", "asia", "abia", "acca", "a3t"),
    ),
    SecretRule(
        "aws-secret-access-key",
        r"(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)\\?[\"']?\s*(?:=|:)\s*\\?[\"']?"
        r"([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|(?m:$))",
        ("secret_access_key", "secretaccesskey", "aws_secret", "awssecret"),
        min_entropy=3.5,
    ),
    SecretRule(
        "gcp-service-account",
        r"\"type\\?\"\s*:\s*\\?\"(service_account)\\?\"",
        ("service_account",),
    ),
    SecretRule(
        "gcp-service-account-key-id",
        r"\"private_key_id\\?\"\s*:\s*\\?\"([0-9a-f]{40})\\?\"",
        ("private_key_id",),
    ),
    SecretRule("gcp-api-key", r"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|(?m:$))", ("aiza",)),
    SecretRule("google-oauth-client-secret", r"\b(GOCSPX-[0-9A-Za-z_-]{28})", ("gocspx-",)),
    SecretRule(
        "azure-storage-account-key",
        r"(?i)AccountKey\s*=\s*([A-Za-z0-9+/]{86}==)",
        ("accountkey",),
    ),
    SecretRule(
        "azure-shared-access-key",
        r"(?i)SharedAccess(?:Key|Signature)\s*=\s*([A-Za-z0-9+/%]{40,90}(?:=|%3D){0,2})",
        ("sharedaccesskey", "sharedaccesssignature"),
        min_entropy=3.5,
    ),
    SecretRule(
        "azure-ad-client-secret",
        r"(?:(?m:^)|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|(?m:$))",
        ("q~",),
        min_entropy=3.0,
    ),
    SecretRule("github-pat", r"\b(ghp_[A-Za-z0-9]{36})\b", ("ghp_",)),
    SecretRule("github-oauth-token", r"\b(gho_[A-Za-z0-9]{36})\b", ("gho_",)),
    SecretRule("github-app-token", r"\b((?:ghu|ghs)_[A-Za-z0-9]{36})\b", ("ghu_", "ghs_")),
    SecretRule("github-refresh-token", r"\b(ghr_[A-Za-z0-9]{36,76})\b", ("ghr_",)),
    SecretRule(
        "github-fine-grained-pat",
        r"\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        ("github_pat_",),
    ),
    SecretRule("gitlab-pat", r"\b(glpat-[A-Za-z0-9_-]{20,})", ("glpat-",)),
    SecretRule("gitlab-runner-token", r"\b(glrt-[A-Za-z0-9_-]{20,})", ("glrt-",)),
    SecretRule(
        "slack-token",
        r"\b(xox[baprs]-[0-9A-Za-z]{8,}(?:-[0-9A-Za-z]+){1,6})",
        ("xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"),
    ),
    SecretRule("slack-app-token", r"\b(xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)", ("xapp-",)),
    SecretRule(
        "slack-webhook",
        r"(https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,})",
        ("hooks.slack.com",),
    ),
    SecretRule(
        "stripe-secret-key",
        r"\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,247})\b",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
    ),
    SecretRule(
        "openai-api-key",
        r"\b(sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})",
        ("t3blbkfj",),
    ),
    SecretRule("openai-project-key", r"\b(sk-proj-[A-Za-z0-9_-]{40,})", ("sk-proj-",)),
    SecretRule(
        "anthropic-api-key",
        r"\b(sk-ant-[a-z]+\d{2}-[A-Za-z0-9_-]{80,120})",
        ("sk-ant-",),
    ),
    SecretRule("promptgate-token", r"\b(pg_live_[A-Za-z0-9_-]{16,})", ("pg_live_",)),
    SecretRule(
        "private-key",
        r"(-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:\\{1,2}[nr]|[A-Za-z0-9+/=\s:,.-]){16,}?"
        r"-----END[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----)",
        ("private key",),
    ),
    SecretRule(
        "jwt",
        r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})",
        ("eyj",),
    ),
    SecretRule(
        "database-url-password",
        r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)"
        r"://[^\s:/@'\"]*:([^\s@/'\"$<>{}*]{3,})@[^\s'\"]+",
        ("postgres", "mysql", "mariadb", "mongodb", "redis", "amqp", "mssql", "sqlserver"),
    ),
    SecretRule("npm-token", r"\b(npm_[A-Za-z0-9]{36})\b", ("npm_",)),
    SecretRule(
        "pypi-token", r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})", ("pypi-ageichlwas5vcmc",)
    ),
    SecretRule("twilio-api-key", r"\b(SK[0-9a-fA-F]{32})\b", ("sk",), min_entropy=3.0),
    SecretRule(
        "sendgrid-api-key",
        r"\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})\b",
        ("sg.",),
    ),
    SecretRule("mailgun-api-key", r"\b(key-[0-9a-f]{32})\b", ("key-",), min_entropy=3.0),
    SecretRule(
        "shopify-token",
        r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
    ),
    SecretRule("huggingface-token", r"\b(hf_[A-Za-z0-9]{34,})\b", ("hf_",), min_entropy=3.0),
    SecretRule(
        "digitalocean-token", r"\b(do[opr]_v1_[a-f0-9]{64})\b", ("dop_v1_", "doo_v1_", "dor_v1_")
    ),
    SecretRule(
        "heroku-api-key",
        r"(?i)(?:\b(HRKU-[A-Za-z0-9_-]{60})|heroku[a-z0-9_ .-]{0,20}[\"']?\s*[:=]\s*[\"']?"
        r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b)",
        ("heroku", "hrku-"),
    ),
    SecretRule(
        "datadog-api-key",
        r"(?i)(?:datadog|dd)_?(?:api|app)(?:lication)?_?key[\"']?\s*[:=]\s*[\"']?([a-f0-9]{32}|[a-f0-9]{40})\b",
        ("datadog", "dd_api", "dd_app", "ddapi", "ddapp"),
        min_entropy=3.0,
    ),
    SecretRule(
        "discord-webhook",
        r"(https?://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{60,68})",
        ("discord",),
    ),
    SecretRule(
        "discord-bot-token",
        r"\b([MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})\b",
        (),
        min_entropy=3.5,
    ),
    SecretRule("telegram-bot-token", r"\b(\d{8,10}:AA[A-Za-z0-9_-]{33})\b", (":aa",)),
    SecretRule("hashicorp-vault-token", r"\b(hvs\.[A-Za-z0-9_-]{24,})", ("hvs.",)),
    SecretRule("linear-api-key", r"\b(lin_api_[A-Za-z0-9]{40})\b", ("lin_api_",)),
    SecretRule("doppler-token", r"\b(dp\.pt\.[A-Za-z0-9]{43})\b", ("dp.pt.",)),
    SecretRule(
        "age-secret-key",
        r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
        ("age-secret-key-1",),
    ),
    SecretRule("sentry-token", r"\b(sntry[su]_[A-Za-z0-9+/=_]{60,})", ("sntrys_", "sntryu_")),
    SecretRule("grafana-token", r"\b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})\b", ("glsa_",)),
    SecretRule("postman-api-key", r"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b", ("pmak-",)),
    SecretRule("mailchimp-api-key", r"\b([0-9a-f]{32}-us\d{1,2})\b", ("-us",), min_entropy=3.0),
    SecretRule(
        "url-basic-auth",
        # Anchored on `://` alone: a scheme pattern would start at every word.
        r"://[^\s:/@'\"]+:([^\s@/'\"$<>{}*]{3,})@[A-Za-z0-9.:\[\]-]+",
        ("://",),
    ),
    SecretRule(
        "authorization-header",
        r"(?i)\b(?:authorization\\?[\"']?\s*[:=]\s*\\?[\"']?(?:bearer|basic|token)\s+"
        r"([A-Za-z0-9._~+/=-]{16,})|x-api-key\\?[\"']?\s*:\s*\\?[\"']?([A-Za-z0-9._~+/=-]{16,}))",
        ("authorization", "x-api-key"),
        min_entropy=3.0,
    ),
    SecretRule(
        "curl-user-password",
        r"\s(?:-u|--user)[ =][\"']?[A-Za-z0-9._@-]{1,64}:([^\s'\"$]{6,})",
        ("-u ", "--user"),
        min_entropy=2.5,
        needs_letter_and_digit=True,
    ),
    SecretRule(
        "netrc-password",
        r"(?i)\bmachine\s+\S+\s+login\s+\S+\s+password\s+([^\s$]{4,})",
        ("machine",),
    ),
    SecretRule(
        "docker-config-auth",
        r"\\?\"auth\\?\"\s*:\s*\\?\"([A-Za-z0-9+/]{16,}={0,2})\\?\"",
        ('"auth',),
        min_entropy=3.0,
    ),
    SecretRule(
        "npmrc-auth",
        r"(?:(?m:^)|[^A-Za-z0-9])_auth\s*=\s*([A-Za-z0-9+/]{12,}={0,2})",
        ("_auth",),
        min_entropy=3.0,
    ),
    SecretRule(
        "kubeconfig-client-key",
        r"client-key-data\\?[\"']?\s*:\s*\\?[\"']?([A-Za-z0-9+/]{40,}={0,2})",
        ("client-key-data",),
    ),
    SecretRule("aws-bedrock-api-key", r"\b(ABSK[A-Za-z0-9+/]{109,269}={0,2})", ("absk",)),
    SecretRule("databricks-token", r"\b(dapi[a-f0-9]{32}(?:-\d)?)\b", ("dapi",)),
    SecretRule(
        "gitlab-token",
        r"\b((?:glcbt|gldt|glft|glimt|glagent|gloas|glsoat|glptt|glffct)-[0-9A-Za-z_-]{20,})",
        (
            "glcbt-",
            "gldt-",
            "glft-",
            "glimt-",
            "glagent-",
            "gloas-",
            "glsoat-",
            "glptt-",
            "glffct-",
        ),
    ),
    SecretRule("grafana-cloud-token", r"\b(glc_[A-Za-z0-9+/]{32,400}={0,2})", ("glc_",)),
    SecretRule("huggingface-org-token", r"\b(api_org_[A-Za-z]{34})\b", ("api_org_",)),
    SecretRule(
        "new-relic-key",
        r"\b(NRAK-[A-Z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[a-z0-9-]{32})\b",
        ("nrak-", "nrjs-", "nrii-"),
    ),
    SecretRule("perplexity-api-key", r"\b(pplx-[A-Za-z0-9]{48})\b", ("pplx-",)),
    SecretRule("groq-api-key", r"\b(gsk_[A-Za-z0-9]{52})\b", ("gsk_",)),
    SecretRule("xai-api-key", r"\b(xai-[A-Za-z0-9]{80})\b", ("xai-",)),
    SecretRule("openrouter-api-key", r"\b(sk-or-v1-[a-f0-9]{64})\b", ("sk-or-v1-",)),
    SecretRule("replicate-api-token", r"\b(r8_[A-Za-z0-9]{37})\b", ("r8_",)),
    SecretRule(
        "planetscale-token", r"\b(pscale_(?:tkn|oauth|pw)_[A-Za-z0-9=._-]{32,64})\b", ("pscale_",)
    ),
    SecretRule("prefect-api-key", r"\b(pnu_[A-Za-z0-9]{36})\b", ("pnu_",)),
    SecretRule("pulumi-token", r"\b(pul-[a-f0-9]{40})\b", ("pul-",)),
    SecretRule("rubygems-token", r"\b(rubygems_[a-f0-9]{48})\b", ("rubygems_",)),
    SecretRule("slack-config-token", r"\b(xoxe(?:\.xox[bp])?-\d-[A-Z0-9]{140,170})\b", ("xoxe",)),
    SecretRule(
        "square-token",
        r"\b(sq0atp-[A-Za-z0-9_-]{22,60}|sq0csp-[A-Za-z0-9_-]{43}|EAAA[A-Za-z0-9_-]{60})\b",
        ("sq0atp-", "sq0csp-", "eaaa"),
        min_entropy=3.0,
    ),
    SecretRule("stripe-webhook-secret", r"\b(whsec_[A-Za-z0-9+/]{32,})", ("whsec_",)),
    SecretRule("hashicorp-vault-batch-token", r"\b(hvb\.[A-Za-z0-9_-]{138,300})", ("hvb.",)),
    SecretRule("atlassian-api-token", r"\b(ATATT3[A-Za-z0-9_=-]{186})", ("atatt3",)),
    SecretRule(
        "flyio-token",
        r"\b(fo1_[A-Za-z0-9_-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})",
        ("fo1_", "fm1a_", "fm1r_", "fm2_"),
    ),
    SecretRule("google-oauth-access-token", r"\b(ya29\.[0-9A-Za-z_-]{30,})", ("ya29.",)),
    SecretRule(
        "onepassword-token",
        r"\b(ops_eyJ[A-Za-z0-9+/]{250,}={0,3}"
        r"|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})",
        ("ops_eyj", "a3-"),
    ),
    SecretRule("cloudflare-origin-ca-key", r"\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b", ("v1.0-",)),
    # Generic assignments last: a specific rule matching the same value wins.
    _generic("generic-password", r"password|passwd|pwd", ("password", "passwd", "pwd")),
    _generic(
        "generic-api-key",
        r"api[_.-]?key|apikey|access[_.-]?key",
        ("api_key", "api-key", "api.key", "apikey", "access_key", "access-key", "accesskey"),
    ),
    _generic("generic-secret", r"secret", ("secret",)),
    _generic("generic-token", r"token", ("token",)),
)
