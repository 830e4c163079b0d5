"""`python -m server staff add|disable|enable|reset|list`: manage bureau staff accounts.

Reaches the same database as a running local server with the same DATA_DIR (or MONGODB_URI).
Passwords are read from a hidden prompt, or from one line of standard input with --password-stdin.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
import sys
import termios

from server.errors import AppError
from server.staff.accounts import StaffAccounts
from server.staff.model import ROLES


def add_parser(subparsers) -> None:
    """Register `staff` and its sub-commands."""
    parser = subparsers.add_parser("staff", help="manage staff accounts (add, disable, enable, reset, list)")
    sub = parser.add_subparsers(dest="staff_command", required=True)
    add = sub.add_parser("add", help="create an account")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=sorted(ROLES))
    add.add_argument("--regions", default="", help="comma-separated district codes (reviewer only)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    for name, text in (("disable", "disable an account and end its sessions"), ("enable", "re-enable an account")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--username", required=True)
    reset = sub.add_parser("reset", help="set a new password, clear the lockout, end sessions")
    reset.add_argument("--username", required=True)
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sub.add_parser("list", help="list accounts")


def no_terminal() -> SystemExit:
    """The one-line refusal when a password is to be prompted for but there is no terminal."""
    again = shlex.join(["python", "-m", "server", *sys.argv[1:], "--password-stdin"])
    return SystemExit(f"没有终端可输入密码：请加 --password-stdin，从标准输入传入密码，例如 echo '新密码' | {again}")


def has_terminal() -> bool:
    """True when a hidden prompt can be shown: standard input is a terminal, or /dev/tty opens."""
    if sys.stdin.isatty():
        return True
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def read_password(from_stdin: bool) -> str:
    """The new password: one stdin line, or a hidden prompt asked twice (only on a terminal)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not has_terminal():  # cron, CI, a service: getpass would fail with termios.error or EOFError
        raise no_terminal()
    try:
        first = getpass.getpass("密码：")
        again = getpass.getpass("再次输入密码：")
    except (EOFError, OSError, termios.error):
        raise no_terminal() from None
    if again != first:
        raise SystemExit("两次输入的密码不一致")
    return first


async def run(args: argparse.Namespace, services) -> int:
    """Run one staff sub-command; 0 on success, 1 with a message on a refused input."""
    accounts = services.get(StaffAccounts)
    try:
        if args.staff_command == "add":
            regions = [c for c in args.regions.split(",") if c.strip()]
            accounts.check_new(args.username, args.role, regions)  # refuse bad input before the prompt
            doc = await accounts.add(args.username, args.role, regions, read_password(args.password_stdin))
            print(f"已创建账号 {doc['_id']}（{ROLES[doc['role']]}，{','.join(doc['regions']) or '全部区'}）")
        elif args.staff_command in ("disable", "enable"):
            doc = await accounts.set_disabled(args.username, args.staff_command == "disable")
            print(f"账号 {doc['_id']} 已{'停用' if args.staff_command == 'disable' else '启用'}")
        elif args.staff_command == "reset":
            doc = await accounts.reset_password(args.username, read_password(args.password_stdin))
            print(f"账号 {doc['_id']} 的密码已重置，原有登录已失效")
        else:
            for doc in await accounts.list():
                state = "停用" if doc.get("disabled") else "正常"
                print(f"{doc['_id']}\t{doc['role']}\t{','.join(doc.get('regions', [])) or '全部区'}\t{state}")
    except AppError as exc:
        print(f"错误：{exc.message}（{exc.code}）", file=sys.stderr)
        return 1
    return 0
