from marketplace_shared.migrations import run_env
from review_service.config import Config
from review_service.models import Base

run_env(Base.metadata, Config().DATABASE_URL)
