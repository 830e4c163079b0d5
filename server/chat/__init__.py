"""The official account's chat bot: webhook protocol, dedupe, routing, FAQ, binding, status."""
