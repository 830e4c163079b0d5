"""Account recovery (账号找回): a person on a new WeChat account gets their archive back."""
