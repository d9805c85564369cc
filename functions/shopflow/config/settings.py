"""Reading the owner's settings from SSM, with typed values and a last-good fallback.

A bad value in SSM never stops the pipeline: it is logged with its key and the last good
value (or the default) is used instead. SSM is read at most once per `max_age_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from shopflow.config.spec import (
    SettingError,
    Value,
    key_to_name,
    name_to_key,
    parse_setting,
    setting_for,
    settings_among,
)
from shopflow.kernel.settings import SettingGroup
from shopflow.observability import logger


def ssm_path(stage: str) -> str:
    return f"/shopflow/{stage}"


class Settings:
    """One consistent set of typed values."""

    def __init__(self, values: Mapping[str, Value], invalid: Iterable[str] = ()) -> None:
        self._values = dict(values)
        # Keys whose stored value was refused (logged) before any good one was read in this
        # process: they hold their default, which a caller may rather not act on.
        self.invalid = frozenset(invalid)

    def get(self, key: str) -> Value:
        setting = setting_for(key)
        if setting is None:
            raise KeyError(key)
        return self._values.get(key, setting.default)

    def group_names(self, group: SettingGroup) -> tuple[str, ...]:
        """The names of `group` that have a setting (`channels.<name>.*`), sorted."""
        return group.names(self._values)

    def secrets(self, sender: str) -> tuple[str, ...]:
        """The current and previous secret of a webhook sender, those that are set."""
        found = (self.get(f"webhooks.{sender}.secret"), self.get(f"webhooks.{sender}.previous_secret"))
        return tuple(s for s in found if isinstance(s, str) and s)

    @property
    def shopify_shop_domains(self) -> frozenset[str]:
        domains = self.get("webhooks.shopify.shop_domains")
        return frozenset(domains) if isinstance(domains, tuple) else frozenset()

    @property
    def dedup_retention_days(self) -> int:
        return self.int_value("dedup.retention_days")

    def int_value(self, key: str) -> int:
        value = self.get(key)
        setting = setting_for(key)
        assert setting is not None  # get() raised otherwise
        default = setting.default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        assert isinstance(default, int)
        return default

    def as_dict(self) -> dict[str, Value]:
        return {s.key: self.get(s.key) for s in settings_among(self._values)}


Fetch = Callable[[], Mapping[str, str]]


class SettingsLoader:
    """Loads `Settings` for a stage; keeps the last good value of every key across loads."""

    def __init__(
        self, stage: str, fetch: Fetch | None = None, *, max_age_seconds: int = 60, ssm_client: Any = None
    ) -> None:
        self.stage = stage
        self._max_age = max_age_seconds
        self._ssm_client = ssm_client
        self._fetch = fetch or self._fetch_from_ssm
        self._fetched: tuple[float, Mapping[str, str]] | None = None  # (when, what) from SSM
        self._last_good: dict[str, Value] = {}
        self._parsed_from: Mapping[str, str] | None = None
        self._settings = Settings({})

    def _fetch_from_ssm(self) -> Mapping[str, str]:
        """Every parameter under the stage's path, named relative to it; the same mapping while
        it is fresh. GetParametersByPath on the botocore client itself: Powertools' parameters
        utility would import boto3 and all its providers on the api's first request (decision 46)."""
        now = time.monotonic()
        if self._fetched is not None and now - self._fetched[0] < self._max_age:
            return self._fetched[1]
        if self._ssm_client is None:
            import botocore.session

            self._ssm_client = botocore.session.get_session().create_client("ssm")
        path = ssm_path(self.stage)
        values: dict[str, str] = {}
        request: dict[str, Any] = {"Path": path, "Recursive": True, "WithDecryption": True}
        while True:
            page = self._ssm_client.get_parameters_by_path(**request)
            for parameter in page.get("Parameters", []):
                values[parameter["Name"].removeprefix(path).lstrip("/")] = parameter["Value"]
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        self._fetched = (now, values)
        return values

    def load(self) -> Settings:
        try:
            raw = self._fetch()
        except Exception:
            logger.exception(
                "settings could not be read; using last good values and defaults", extra={"stage": self.stage}
            )
            return self._settings
        if raw is self._parsed_from:  # served from the cache: nothing new to parse
            return self._settings
        values: dict[str, Value] = {}
        invalid: list[str] = []
        for setting in settings_among(name_to_key(name) for name in raw):
            text = raw.get(key_to_name(setting.key))
            if text is None:
                values[setting.key] = setting.default
                continue
            try:
                values[setting.key] = self._last_good[setting.key] = parse_setting(setting.key, text)
            except SettingError as exc:
                fallback = self._last_good.get(setting.key, setting.default)
                logger.warning(
                    "invalid setting ignored",
                    extra={
                        "setting": setting.key,
                        "reason": str(exc),
                        "using": "last good value" if setting.key in self._last_good else "default",
                    },
                )
                values[setting.key] = fallback
                if setting.key not in self._last_good:
                    invalid.append(setting.key)
        self._parsed_from = raw
        self._settings = Settings(values, invalid)
        return self._settings
