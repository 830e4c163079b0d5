"""The mini-program front door: JSON over HTTPS for accountants on their phones."""
