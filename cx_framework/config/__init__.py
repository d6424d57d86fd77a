"""Configuration: pydantic models for every YAML file and the loaders that cross-check them."""

from __future__ import annotations

from cx_framework.config.loader import FILES, CxConfig, check_order, load_config, load_scheme, parse_model
from cx_framework.config.models import *  # noqa: F403
from cx_framework.config.models import __all__ as _models_all

__all__ = ["CxConfig", "load_config", "load_scheme", "parse_model", "check_order", "FILES", *_models_all]
