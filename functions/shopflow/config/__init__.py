"""The owner's settings: typed, validated, read from SSM under /shopflow/{stage}/ with defaults."""

from shopflow.config.settings import Settings, SettingsLoader, ssm_path
from shopflow.config.spec import SETTINGS, SettingError, parse_setting

__all__ = ["SETTINGS", "SettingError", "Settings", "SettingsLoader", "parse_setting", "ssm_path"]
