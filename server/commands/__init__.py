"""Sub-commands of `python -m server`: each module defines `add_parser(subparsers)` and
`async def run(args, services)`; the command name is the module name (`_` written `-`)."""
