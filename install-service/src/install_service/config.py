"""Installations settings, read from the environment."""

from marketplace_shared.config import BaseConfig


class Config(BaseConfig):
    SERVICE_NAME = "install-service"
