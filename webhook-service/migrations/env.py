from marketplace_shared.migrations import run_env
from webhook_service.config import Config
from webhook_service.models import Base

run_env(Base.metadata, Config().DATABASE_URL)
