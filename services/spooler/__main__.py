"""``python -m services.spooler``: the process supervisord runs."""

from services.core.runner import main
from services.spooler.service import SpoolerService

if __name__ == "__main__":
    main(SpoolerService)
