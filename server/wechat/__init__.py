"""Outbound WeChat server API (aiohttp) and a fake WeChat server for tests and demos."""
