from catalog_service.config import Config
from catalog_service.models import Base
from marketplace_shared.migrations import run_env

run_env(Base.metadata, Config().DATABASE_URL)
