from gateway.config import Config
from gateway.models import Base
from marketplace_shared.migrations import run_env

run_env(Base.metadata, Config().DATABASE_URL)
