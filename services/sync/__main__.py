"""``python -m services.sync``: the process supervisord runs."""

from services.core.runner import main
from services.sync.service import SyncService

if __name__ == "__main__":
    main(SyncService)
