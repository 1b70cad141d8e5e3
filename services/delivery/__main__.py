"""``python -m services.delivery``: the process supervisord runs."""

from services.core.runner import main
from services.delivery.service import DeliveryService

if __name__ == "__main__":
    main(DeliveryService)
