from review_service.config import Config
from review_service.models import Base
from marketplace_shared.migrations import run_env

run_env(Base.metadata, Config().DATABASE_URL)
