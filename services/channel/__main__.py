"""``python -m services.channel``: the process supervisord runs."""

from services.channel.service import ChannelService
from services.core.runner import main

if __name__ == "__main__":
    main(ChannelService)
