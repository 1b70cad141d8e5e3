"""``python -m services.api``: the process supervisord runs."""

from services.api.service import ApiService
from services.core.runner import main

if __name__ == "__main__":
    main(ApiService)
