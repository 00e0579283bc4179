"""`facekeeper admin create-owner | accounts ... | applications ... | services ...`: the admin API's
operations for scripts, acting on the same database (a service made here is in the admin API and the
web UI at once, and the other way round). The operator at the CLI may do everything; passwords are read
from a prompt, or from the first line of standard input with `--password-stdin`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

from facekeeper.domain import AccountRecord, MemberRecord, Role, ServiceDetails, ServiceType
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.accounts import AccountService
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.services.applications import ApplicationService, ApplicationView, service_type_name
from facekeeper.services.passwords import Passwords
from facekeeper.services.usage import UsageCounter
from facekeeper.settings import Settings
from facekeeper.storage.db import Database

ROLE_HELP = "OWNER, ADMINISTRATOR or USER"


def _account_json(account: AccountRecord) -> dict[str, Any]:
    return {"id": account.id, "email": account.email, "name": account.name, "role": account.role.name}


def _application_json(view: ApplicationView) -> dict[str, Any]:
    return {"id": view.application.id, "name": view.application.name, "service_count": view.service_count}


def _service_json(service: ServiceDetails) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "type": service_type_name(service.type),
        "api_key": service.api_key,
        "application_id": service.application_id,
    }


def _member_json(member: MemberRecord) -> dict[str, Any]:
    return {"account_id": member.account.id, "email": member.account.email, "role": member.role.name}


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise FacekeeperError(Error.PASSWORD_INVALID)  # no prompt possible: say what a password must be
    first = getpass.getpass("Password (8-255 characters): ")
    if getpass.getpass("Password again: ") != first:
        print("facekeeper: the two passwords differ", file=sys.stderr)
        raise SystemExit(2)
    return first


def _role(text: str) -> Role:
    role = Role.parse(text)
    if role is None:
        raise FacekeeperError(Error.ROLE_INVALID, role=text)
    return role


class _Context:
    def __init__(self, db: Database, settings: Settings) -> None:
        passwords = Passwords(settings.password_hash_memory_kib, settings.password_hash_time_cost)
        self.accounts = AccountService(db, passwords)
        self.applications = ApplicationService(db, UsageCounter(db), settings.embedder)
        self.keys = ApiKeyService(db, settings.embedder)

    def service_id(self, name_or_key: str) -> str:
        """A service by name or key (like `facekeeper service`), or by id."""
        try:
            return self.keys.find(name_or_key).id
        except FacekeeperError:
            return self.applications.service(None, name_or_key).service.id


def _emit(as_json: bool, value: Any, text: str) -> None:
    print(json.dumps(value) if as_json else text)


def _accounts(ctx: _Context, args: argparse.Namespace) -> None:
    if args.action == "list":
        found = ctx.accounts.everyone()
        if args.json:
            print(json.dumps([_account_json(a) for a in found]))
        for account in [] if args.json else found:
            print(f"{account.id}  {account.role.name:<13}  {account.email}  {account.name or ''}".rstrip())
    elif args.action == "create":
        account = ctx.accounts.create(args.email, _read_password(args), _role(args.role), args.name)
        _emit(args.json, _account_json(account), f"Created {account.role.name.lower()} account {account.email}.")
    elif args.action == "delete":
        account = ctx.accounts.delete(args.account)
        _emit(args.json, _account_json(account), f"Deleted account {account.email}.")
    elif args.action == "set-role":
        account = ctx.accounts.set_role(args.account, _role(args.role))
        _emit(args.json, _account_json(account), f"{account.email} is now {account.role.name}.")
    elif args.action == "set-password":
        account = ctx.accounts.set_password(args.account, _read_password(args))
        _emit(args.json, _account_json(account), f"New password set for {account.email}; its sessions ended.")


def _applications(ctx: _Context, args: argparse.Namespace) -> None:
    if args.action == "list":
        views = ctx.applications.visible(None)
        if args.json:
            print(json.dumps([_application_json(v) for v in views]))
        for view in [] if args.json else views:
            print(f"{view.application.id}  {view.service_count:>3} services  {view.application.name}")
        return
    if args.action == "create":
        view = ctx.applications.create(None, args.name)
        _emit(args.json, _application_json(view), f"Created application '{view.application.name}'.")
        return
    application = ctx.applications.find(args.application)
    if args.action == "rename":
        view = ctx.applications.rename(None, application.id, args.name)
        _emit(args.json, _application_json(view), f"Renamed to '{view.application.name}'.")
    elif args.action == "delete":
        ctx.applications.delete(None, application.id)
        _emit(args.json, {"id": application.id, "name": application.name}, f"Deleted '{application.name}'.")
    elif args.action == "members":
        members = ctx.applications.members(None, application.id)
        if args.json:
            print(json.dumps([_member_json(m) for m in members]))
        for member in [] if args.json else members:
            print(f"{member.account.id}  {member.role.name:<13}  {member.account.email}")
    elif args.action == "add-member":
        member = ctx.applications.add_member(None, application.id, args.email, args.role)
        _emit(args.json, _member_json(member), f"{member.account.email} is {member.role.name} of '{application.name}'.")
    elif args.action == "set-member-role":
        account = ctx.accounts.find(args.account)
        member = ctx.applications.set_member_role(None, application.id, account.id, args.role)
        _emit(args.json, _member_json(member), f"{member.account.email} is {member.role.name} of '{application.name}'.")
    elif args.action == "remove-member":
        account = ctx.accounts.find(args.account)
        member = ctx.applications.remove_member(None, application.id, account.id)
        _emit(args.json, _member_json(member), f"Removed {member.account.email} from '{application.name}'.")


def _services(ctx: _Context, args: argparse.Namespace) -> None:
    if args.action == "list":
        if args.application:
            found = ctx.applications.services(None, ctx.applications.find(args.application).id)
        else:
            found = [
                s for v in ctx.applications.visible(None) for s in ctx.applications.services(None, v.application.id)
            ]
        if args.json:
            print(json.dumps([_service_json(s) for s in found]))
        for service in [] if args.json else found:
            print(f"{service.api_key}  {service_type_name(service.type):<11}  {service.name}")
        return
    if args.action == "create":
        application = ctx.applications.find(args.application)
        try:
            type_name = service_type_name(ServiceType.parse(args.type))
        except KeyError:
            raise FacekeeperError(Error.SERVICE_TYPE_INVALID, type=args.type) from None
        created = ctx.applications.create_service(None, application.id, args.name, type_name)
        _emit(args.json, _service_json(created), f"Created service '{created.name}'. API key: {created.api_key}")
        return
    service_id = ctx.service_id(args.service)
    if args.action == "rename":
        renamed = ctx.applications.rename_service(None, service_id, args.name)
        _emit(args.json, _service_json(renamed), f"Renamed to '{renamed.name}'.")
    elif args.action == "delete":
        deleted = ctx.applications.delete_service(None, service_id)
        _emit(args.json, _service_json(deleted), f"Deleted service '{deleted.name}'.")
    elif args.action == "regenerate-key":
        changed = ctx.applications.regenerate_key(None, service_id)
        _emit(args.json, _service_json(changed), f"New API key: {changed.api_key}")


def run(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    ctx = _Context(db, settings)
    if args.admin_command == "create-owner":
        account = ctx.accounts.create_owner(args.email, _read_password(args), args.name)
        _emit(
            args.json, _account_json(account), f"Created the owner account {account.email}; sign in at the server's /."
        )
    else:
        handlers: dict[str, Callable[[_Context, argparse.Namespace], None]] = {
            "accounts": _accounts,
            "applications": _applications,
            "services": _services,
        }
        handlers[args.admin_command](ctx, args)
    return 0


def add_commands(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """`admin` and its subcommands; `common` adds --data-dir and --database-url."""
    admin = commands.add_parser("admin", help="accounts, applications and services of the admin side")
    groups = admin.add_subparsers(dest="admin_command", required=True)
    subcommands: list[argparse.ArgumentParser] = []

    def add(parent: Any, name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text)
        subcommands.append(parser)
        return parser

    def password_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input's first line"
        )

    owner = add(groups, "create-owner", "create the owner account (the server must have none)")
    owner.add_argument("--email", required=True)
    owner.add_argument("--name")
    password_options(owner)

    accounts = groups.add_parser("accounts", help="accounts who sign in to the admin API and web UI")
    acts = accounts.add_subparsers(dest="action", required=True)
    add(acts, "list", "list accounts")
    create = add(acts, "create", "create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--role", default="USER", help=f"global role: {ROLE_HELP} (default USER)")
    create.add_argument("--name")
    password_options(create)
    add(acts, "delete", "delete an account (not the owner)").add_argument("account", help="email or id")
    role = add(acts, "set-role", "change an account's global role (OWNER transfers ownership)")
    role.add_argument("account", help="email or id")
    role.add_argument("role", help=ROLE_HELP)
    password = add(acts, "set-password", "set an account's password (ends its sessions)")
    password.add_argument("account", help="email or id")
    password_options(password)

    applications = groups.add_parser("applications", help="applications, which hold services and members")
    acts = applications.add_subparsers(dest="action", required=True)
    add(acts, "list", "list applications")
    add(acts, "create", "create an application").add_argument("name")
    rename = add(acts, "rename", "rename an application")
    rename.add_argument("application", help="name or id")
    rename.add_argument("name")
    add(acts, "delete", "delete an application with its services").add_argument("application", help="name or id")
    add(acts, "members", "list an application's members").add_argument("application", help="name or id")
    member = add(acts, "add-member", "give an account a role in an application")
    member.add_argument("application", help="name or id")
    member.add_argument("email")
    member.add_argument("role", help=ROLE_HELP)
    member_role = add(acts, "set-member-role", "change a member's role")
    member_role.add_argument("application", help="name or id")
    member_role.add_argument("account", help="email or id")
    member_role.add_argument("role", help=ROLE_HELP)
    remove = add(acts, "remove-member", "take an account out of an application")
    remove.add_argument("application", help="name or id")
    remove.add_argument("account", help="email or id")

    services = groups.add_parser("services", help="services of applications, with their API keys")
    acts = services.add_subparsers(dest="action", required=True)
    add(acts, "list", "list services and keys").add_argument("--application", help="name or id (default: all)")
    created = add(acts, "create", "create a service in an application and print its key")
    created.add_argument("--application", required=True, help="name or id")
    created.add_argument("--name", required=True)
    created.add_argument("--type", required=True, help="recognition, detection or verification (VERIFY)")
    renamed = add(acts, "rename", "rename a service")
    renamed.add_argument("service", help="name, API key or id")
    renamed.add_argument("name")
    add(acts, "delete", "delete a service and its collection").add_argument("service", help="name, API key or id")
    add(acts, "regenerate-key", "give a service a new API key").add_argument("service", help="name, API key or id")

    for parser in subcommands:
        parser.add_argument("--json", action="store_true", help="print JSON")
        common(parser)
