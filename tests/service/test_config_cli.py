"""`shopflow config`: the owner's settings in SSM (moto), checked before anything is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from shopflow.config.spec import SETTINGS
from shopflow.target import Target
from tests.service.conftest import Run, running_local_instance

STAGE = "test"
ROOT = f"/shopflow/{STAGE}"
SHOPIFY_SECRET = "shpss_0123456789abcdef"
EVENTS_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes of key


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ssm")


def parameters(ssm: Any, root: str = ROOT) -> dict[str, tuple[str, str]]:
    """Everything under the stage's root, read back with boto3: name -> (value, type)."""
    found: dict[str, tuple[str, str]] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=root, Recursive=True, WithDecryption=True
    ):
        for p in page["Parameters"]:
            found[p["Name"]] = (p["Value"], p["Type"])
    return found


def put(ssm: Any, name: str, value: str, kind: str = "String") -> None:
    ssm.put_parameter(Name=f"{ROOT}/{name}", Value=value, Type=kind, Overwrite=True)


def write(tmp_path: Path, text: str, name: str = "settings.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --- show ------------------------------------------------------------------------------------------


def test_show_lists_every_setting_with_its_source_after_a_set(run: Run, ssm: Any) -> None:
    assert run("config", "set", "dedup.retention_days", "30") == 0
    assert run("config", "set", "webhooks.shopify.secret", SHOPIFY_SECRET) == 0

    assert run("config", "show") == 0

    rows = {line.split()[0]: line.split() for line in run.out.splitlines()[2:]}
    assert set(rows) == {s.key for s in SETTINGS}
    assert rows["dedup.retention_days"][1:] == ["30", "ssm", "int"]
    assert rows["webhooks.shopify.secret"][1:] == ["(set)", "ssm", "secret"]
    assert rows["webhooks.woocommerce.secret"][1:] == ["(not", "set)", "default", "secret"]
    assert rows["webhooks.shopify.shop_domains"][1:] == ["(empty)", "default", "list"]
    assert SHOPIFY_SECRET not in run.out


def test_show_json_gives_typed_values_and_names_an_invalid_value_in_ssm(run: Run, ssm: Any) -> None:
    put(ssm, "dedup/retention_days", "forever")
    put(ssm, "webhooks/shopify/shop_domains", "demo-shop.myshopify.com,other.myshopify.com")
    put(ssm, "webhooks/events/secret", EVENTS_SECRET, "SecureString")
    put(ssm, "webhooks/shopify/secret", "too short", "SecureString")

    assert run("config", "show", "--json") == 0

    rows = json.loads(run.out)  # nothing but JSON on stdout: the pipeline's warning is not printed
    assert [r["key"] for r in rows] == [s.key for s in SETTINGS]
    by_key = {r["key"]: r for r in rows}
    assert by_key["dedup.retention_days"] == {
        "key": "dedup.retention_days",
        "value": 8,  # what the pipeline uses: the default
        "source": "ssm (invalid: must be a whole number, not 'forever')",
        "type": "int",
    }
    assert by_key["webhooks.shopify.shop_domains"]["value"] == [
        "demo-shop.myshopify.com",
        "other.myshopify.com",
    ]
    assert by_key["webhooks.events.secret"] == {
        "key": "webhooks.events.secret",
        "value": "(set)",
        "source": "ssm",
        "type": "secret",
    }
    assert by_key["webhooks.shopify.secret"]["value"] == "(not set)"
    assert by_key["webhooks.shopify.secret"]["source"] == "ssm (invalid: must be at least 16 characters)"
    assert by_key["webhooks.woocommerce.secret"]["source"] == "default"
    assert EVENTS_SECRET not in run.out and "too short" not in run.out


# --- get and set -----------------------------------------------------------------------------------


def test_get_and_set_round_trip(run: Run, ssm: Any) -> None:
    assert run("config", "get", "dedup.retention_days") == 0
    assert run.out == "8\n"

    assert run("config", "set", "dedup.retention_days", "45") == 0
    assert "dedup.retention_days: 8 (default) -> 45" in run.out

    assert run("config", "get", "dedup.retention_days") == 0
    assert run.out == "45\n"
    assert parameters(ssm) == {f"{ROOT}/dedup/retention_days": ("45", "String")}


def test_a_list_comes_back_in_the_form_set_takes(run: Run, ssm: Any) -> None:
    assert (
        run("config", "set", "webhooks.shopify.shop_domains", "Demo-Shop.myshopify.com, b.myshopify.com") == 0
    )
    assert run("config", "get", "webhooks.shopify.shop_domains") == 0
    printed = run.out.strip()
    assert printed == "demo-shop.myshopify.com,b.myshopify.com"

    assert run("config", "set", "webhooks.shopify.shop_domains", printed) == 0
    assert "(unchanged)" in run.out


def test_emptying_a_list_removes_the_parameter(run: Run, ssm: Any) -> None:
    put(ssm, "webhooks/shopify/shop_domains", "demo-shop.myshopify.com")

    assert run("config", "set", "webhooks.shopify.shop_domains", "") == 0

    assert "demo-shop.myshopify.com -> (empty)" in run.out
    assert parameters(ssm) == {}


def test_a_secret_is_a_securestring_masked_unless_revealed(run: Run, ssm: Any) -> None:
    assert run("config", "get", "webhooks.shopify.secret") == 0
    assert run.out == "(not set)\n"

    assert run("config", "set", "webhooks.shopify.secret", SHOPIFY_SECRET) == 0
    assert "webhooks.shopify.secret: (not set) (default) -> (set)" in run.out
    assert SHOPIFY_SECRET not in run.out
    assert run("config", "set", "webhooks.shopify.secret", SHOPIFY_SECRET[::-1]) == 0
    assert "(set) -> (set, new value)" in run.out
    assert parameters(ssm)[f"{ROOT}/webhooks/shopify/secret"] == (SHOPIFY_SECRET[::-1], "SecureString")

    assert run("config", "get", "webhooks.shopify.secret") == 0
    assert run.out == "(set)\n"
    assert run("config", "get", "webhooks.shopify.secret", "--reveal") == 0
    assert run.out == SHOPIFY_SECRET[::-1] + "\n"


def test_reveal_of_an_unset_secret_says_so(run: Run, ssm: Any) -> None:
    assert run("config", "get", "webhooks.events.secret", "--reveal") == 1
    assert run.out == ""
    assert "webhooks.events.secret is not set" in run.err


def test_a_secret_stored_as_plain_string_is_rewritten_as_securestring(run: Run, ssm: Any) -> None:
    put(ssm, "webhooks/woocommerce/secret", "plain-text-secret-0001")

    assert run("config", "set", "webhooks.woocommerce.secret", "plain-text-secret-0001") == 0

    assert parameters(ssm) == {
        f"{ROOT}/webhooks/woocommerce/secret": ("plain-text-secret-0001", "SecureString")
    }


def test_get_of_an_unknown_key_names_close_matches(run: Run, ssm: Any) -> None:
    assert run("config", "get", "dedup.retention") == 1

    assert run.out == ""
    assert "dedup.retention: unknown setting; did you mean dedup.retention_days?" in run.err


def test_get_says_when_the_value_in_ssm_is_ignored(run: Run, ssm: Any) -> None:
    put(ssm, "dedup/retention_days", "400")

    assert run("config", "get", "dedup.retention_days") == 0

    assert run.out == "8\n"
    assert "invalid (must be at most 90, not 400)" in run.err


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("dedup.retention_days", "a week", "dedup.retention_days: must be a whole number, not 'a week'"),
        ("dedup.retention_days", "3", "dedup.retention_days: must be at least 7, not 3"),
        ("dedup.retention_days", "91", "dedup.retention_days: must be at most 90, not 91"),
        (
            "dedup.retention_dais",
            "30",
            "dedup.retention_dais: unknown setting; did you mean dedup.retention_days?",
        ),
        ("webhooks.shopify.secret", "short", "webhooks.shopify.secret: must be at least 16 characters"),
        (
            "webhooks.events.secret",
            "not-whsec-at-all",
            "webhooks.events.secret: must be whsec_ followed by base64 (A-Z a-z 0-9 + /); "
            "the prefix is optional",
        ),
        (
            "webhooks.shopify.shop_domains",
            "demo-shop.myshopify.com,evil.example.com",
            "webhooks.shopify.shop_domains: not a *.myshopify.com domain: evil.example.com",
        ),
    ],
    ids=[
        "wrong-type",
        "below-minimum",
        "above-maximum",
        "unknown-key",
        "short-secret",
        "bad-whsec",
        "bad-domain",
    ],
)
def test_set_refuses_an_invalid_value_and_writes_nothing(
    run: Run, ssm: Any, key: str, value: str, why: str
) -> None:
    put(ssm, "dedup/retention_days", "30")
    put(ssm, "webhooks/shopify/secret", SHOPIFY_SECRET, "SecureString")
    put(ssm, "webhooks/events/secret", EVENTS_SECRET, "SecureString")
    put(ssm, "webhooks/shopify/shop_domains", "demo-shop.myshopify.com")
    before = parameters(ssm)

    assert run("config", "set", key, value) == 1

    assert run.err == f"shopflow config: refused, nothing written: {why}\n"
    assert run.out == ""
    assert parameters(ssm) == before
    versions = {
        p["Name"]: p["Version"] for p in ssm.get_parameters_by_path(Path=ROOT, Recursive=True)["Parameters"]
    }
    assert set(versions.values()) == {1}  # not even rewritten with the same value


# --- push and validate -----------------------------------------------------------------------------

GOOD_FILE = f"""\
webhooks.shopify.secret: {SHOPIFY_SECRET}
webhooks.shopify.shop_domains:
  - demo-shop.myshopify.com
  - second-shop.myshopify.com
webhooks.events.secret: {EVENTS_SECRET}
dedup.retention_days: 14
"""


def test_push_of_a_good_file_writes_every_entry(run: Run, ssm: Any, tmp_path: Path) -> None:
    put(ssm, "webhooks/woocommerce/secret", "left-alone-secret-0001", "SecureString")
    path = write(tmp_path, GOOD_FILE)

    assert run("config", "push", path) == 0

    assert parameters(ssm) == {
        f"{ROOT}/webhooks/shopify/secret": (SHOPIFY_SECRET, "SecureString"),
        f"{ROOT}/webhooks/shopify/shop_domains": (
            "demo-shop.myshopify.com,second-shop.myshopify.com",
            "String",
        ),
        f"{ROOT}/webhooks/events/secret": (EVENTS_SECRET, "SecureString"),
        f"{ROOT}/dedup/retention_days": ("14", "String"),
        f"{ROOT}/webhooks/woocommerce/secret": ("left-alone-secret-0001", "SecureString"),  # not in the file
    }
    assert "4 changed, 0 unchanged" in run.out
    assert "dedup.retention_days: 8 (default) -> 14" in run.out
    assert SHOPIFY_SECRET not in run.out and EVENTS_SECRET not in run.out

    assert run("config", "push", path) == 0
    assert "0 changed, 4 unchanged" in run.out


def test_push_with_one_bad_entry_writes_nothing(run: Run, ssm: Any, tmp_path: Path) -> None:
    put(ssm, "dedup/retention_days", "30")
    before = parameters(ssm)
    path = write(tmp_path, GOOD_FILE.replace("dedup.retention_days: 14", "dedup.retention_days: 365"))

    assert run("config", "push", path) == 1

    assert parameters(ssm) == before
    assert run.out == ""
    assert "1 problem, nothing written" in run.err
    assert "dedup.retention_days: must be at most 90, not 365" in run.err


def test_validate_reports_every_problem(run: Run, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
webhooks.shopify.secret: short
webhooks.shopify.shop_domains: [demo-shop.myshopify.com, shop.example.com]
dedup.retention_days: true
dedup.retention: 30
webhooks.events.secret:
webhooks.woocommerce.secret: {nested: value}
""",
    )

    assert run("config", "validate", path) == 1

    assert run.err.splitlines() == [
        f"shopflow config: {path}: 6 problems:",
        "  webhooks.shopify.secret: must be at least 16 characters",
        "  webhooks.shopify.shop_domains: not a *.myshopify.com domain: shop.example.com",
        "  dedup.retention_days: must be a whole number, not 'true'",
        "  dedup.retention: unknown setting; did you mean dedup.retention_days?",
        "  webhooks.events.secret: has no value",
        "  webhooks.woocommerce.secret: is a mapping: write each setting's full key, "
        "e.g. webhooks.shopify.secret: ...",
    ]


def test_validate_accepts_a_good_file_without_touching_aws(run: Run, tmp_path: Path) -> None:
    # No moto here: validate must not call AWS at all.
    assert run("config", "validate", write(tmp_path, GOOD_FILE)) == 0

    assert run.out.endswith(": 4 settings, all valid\n")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("dedup.retention_days: [unclosed\n", "is not valid YAML"),
        ("- dedup.retention_days\n- 30\n", "must be a YAML mapping of setting key -> value, not a list"),
        ("30\n", "must be a YAML mapping of setting key -> value, not a number"),
        ("", "must be a YAML mapping of setting key -> value, not an empty file"),
    ],
    ids=["not-yaml", "list", "scalar", "empty"],
)
def test_a_file_that_is_not_a_mapping_is_refused_clearly(
    run: Run, ssm: Any, tmp_path: Path, text: str, complaint: str
) -> None:
    path = write(tmp_path, text)

    assert run("config", "validate", path) == 1
    assert complaint in run.err
    assert len(run.err.splitlines()) == 1

    assert run("config", "push", path) == 1
    assert complaint in run.err and "nothing written" in run.err
    assert parameters(ssm) == {}


def test_a_missing_file_is_named(run: Run, tmp_path: Path) -> None:
    assert run("config", "validate", str(tmp_path / "nope.yaml")) == 1

    assert run.err == f"shopflow config: cannot read {tmp_path / 'nope.yaml'}: No such file or directory\n"


# --- where it acts ---------------------------------------------------------------------------------


def test_local_without_a_running_instance_says_so(run: Run, tmp_path: Path) -> None:
    assert run("config", "set", "dedup.retention_days", "30", "--local", "--data-dir", str(tmp_path)) == 2

    assert run.err == (
        f"shopflow: no running `shopflow local` (no {tmp_path / 'local.json'}): "
        "start it in another terminal first\n"
    )


def test_local_talks_to_the_running_instance(run: Run, tmp_path: Path, moto_url: str) -> None:
    local = running_local_instance(tmp_path, moto_url)

    assert run("config", "set", "dedup.retention_days", "21", *local) == 0
    assert "in shopflow local (stage local)" in run.out

    ssm = boto3.client("ssm", endpoint_url=moto_url, region_name="us-east-1")
    assert parameters(ssm, "/shopflow/local") == {"/shopflow/local/dedup/retention_days": ("21", "String")}
    assert run("config", "show", "--json", *local) == 0
    [row] = [r for r in json.loads(run.out) if r["key"] == "dedup.retention_days"]
    assert (row["value"], row["source"]) == (21, "ssm")


def test_no_credentials_is_one_clear_line(run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    assert run("config", "show") == 2

    assert run.err == (
        "shopflow: no AWS credentials for AWS stage test: use --profile (or AWS_PROFILE), or --local\n"
    )


def test_an_unknown_profile_is_one_clear_line(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))

    assert run("config", "get", "dedup.retention_days", "--profile", "nope") == 2

    assert (
        run.err
        == "shopflow: could not use SSM in AWS stage test: The config profile (nope) could not be found\n"
    )


def test_access_denied_is_one_clear_line_and_nothing_changes(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("ssm", region_name="eu-west-1")
    stubber = Stubber(client)
    stubber.add_response("get_parameters_by_path", {"Parameters": []})
    stubber.add_client_error(
        "put_parameter",
        service_error_code="AccessDeniedException",
        service_message=(
            "User: arn:aws:iam::123456789012:user/owner is not authorized to perform: ssm:PutParameter"
        ),
    )
    stubber.activate()
    monkeypatch.setattr(Target, "client", lambda self, service: client)

    assert run("config", "set", "dedup.retention_days", "30", "--region", "eu-west-1") == 2

    assert run.err == (
        "shopflow: SSM in AWS stage test in eu-west-1 refused PutParameter: AccessDeniedException: "
        "User: arn:aws:iam::123456789012:user/owner is not authorized to perform: ssm:PutParameter\n"
    )
    stubber.assert_no_pending_responses()


# --- settings wrong together (pricing: a channel's commission and a strategy's margin) -----------


def test_a_commission_that_leaves_no_margin_is_refused_and_nothing_is_written(run: Run, ssm: Any) -> None:
    assert run("config", "set", "pricing.strategy.default", '{"min_margin": "0.30"}') == 0
    assert run("config", "set", "channels.allegro.commission", "0.75") == 1
    err = run.err
    assert "channels.allegro.commission 0.75" in err and "pricing.strategy.default" in err
    assert f"{ROOT}/channels/allegro/commission" not in parameters(ssm)
    assert run("config", "set", "channels.allegro.commission", "0.60") == 0  # 0.60 + 0.30 < 1


def test_a_strategy_whose_margin_a_channel_commission_eats_is_refused(run: Run, ssm: Any) -> None:
    put(ssm, "channels/allegro/commission", "0.60")
    assert run("config", "set", "pricing.strategy.clearance", '{"min_margin": "0.40"}') == 1
    assert "pricing.strategy.clearance" in run.err
    assert f"{ROOT}/pricing/strategy/clearance" not in parameters(ssm)


def test_a_settings_file_wrong_together_writes_nothing(run: Run, ssm: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "channels.allegro.commission: '0.9'\npricing.strategy.default: '{\"min_margin\": \"0.2\"}'\n",
    )
    assert run("config", "push", path) == 1
    assert parameters(ssm) == {}
