"""Collection campaign windows (采集时间窗口): the rules (`rules.py`), the stored windows and their
readers (`service.py`), the pre-deadline reminder (`reminders.py`)."""

from server.campaigns.service import Campaigns

__all__ = ["Campaigns"]
