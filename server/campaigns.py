"""Collection campaigns (采集时间窗口): placeholder; the guard named in the collection table passes."""

from __future__ import annotations


class Campaigns:
    """The city's campaign windows."""

    def __init__(self, services):
        self.services = services

    def register_guards(self, lifecycle) -> None:
        async def collection_window(app: dict, body: dict) -> None:
            return None

        lifecycle.register_guard("collection_window", collection_window)
