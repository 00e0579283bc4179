"""`facekeeper serve | service create/list/delete/regenerate-key | admin ... | import | export | import-archive |
migrate | db upgrade`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from facekeeper.cli import admin, bulk, migrate
from facekeeper.cli.preflight import open_database
from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.settings import Settings

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry


def _settings(args: argparse.Namespace) -> Settings:
    """Options given on the command line override FACEKEEPER_* environment variables."""
    overrides = {key: value for key, value in vars(args).items() if key in Settings.model_fields and value is not None}
    return Settings(**overrides)


def _service_json(service: ServiceRecord) -> dict[str, Any]:
    found = {"name": service.name, "type": service.type.name.lower(), "api_key": service.api_key}
    if service.type is ServiceType.RECOGNITION:  # only a collection has an embedder
        found["embedder"] = service.embedder
    return found


def _print_services(services: list[ServiceRecord], as_json: bool) -> None:
    if as_json:
        print(json.dumps([_service_json(s) for s in services]))
        return
    for s in services:
        embedder = s.embedder if s.type is ServiceType.RECOGNITION else "-"
        print(f"{s.api_key}  {s.type.name.lower():<12}  {embedder:<12}  {s.name}")


def _service_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    keys = ApiKeyService(open_database(settings), settings.embedder)
    if args.action == "create":
        try:
            service_type = ServiceType.parse(args.type)
        except KeyError:
            raise FacekeeperError(Error.SERVICE_TYPE_INVALID, type=args.type) from None
        if args.embedder is not None:  # a name no model answers to would only fail at the first request
            from facekeeper.inference.registry import default_registry

            default_registry().build_embedder(args.embedder, settings)
        created = keys.create(args.name, service_type)
        if args.json:
            print(json.dumps(_service_json(created)))
        else:
            print(f"Created {service_type.name.lower()} service '{created.name}'. API key: {created.api_key}")
    elif args.action == "list":
        _print_services(keys.list(), args.json)
    elif args.action == "delete":
        deleted = keys.delete(args.service)
        print(json.dumps(_service_json(deleted)) if args.json else f"Deleted service '{deleted.name}'.")
    elif args.action == "regenerate-key":
        changed = keys.regenerate_key(args.service)
        print(json.dumps(_service_json(changed)) if args.json else f"New API key: {changed.api_key}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", dest="data_dir", help="data directory (env FACEKEEPER_DATA_DIR)")
    parser.add_argument("--database-url", dest="database_url", help="SQLAlchemy URL (env FACEKEEPER_DATABASE_URL)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facekeeper", description="Self-hosted CompreFace-compatible face server.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the HTTP server")
    serve_parser.add_argument("--host", help="bind address (env FACEKEEPER_HOST, default 0.0.0.0)")
    serve_parser.add_argument("--port", type=int, help="TCP port (env FACEKEEPER_PORT, default 8000)")
    serve_parser.add_argument(
        "--workers", type=int, help="server processes sharing the port (env FACEKEEPER_WORKERS, default 1)"
    )
    _common(serve_parser)

    service = commands.add_parser("service", help="manage services and their API keys")
    actions = service.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a service and print its API key")
    create.add_argument("--type", required=True, help="recognition, detection or verification")
    create.add_argument("--name", required=True, help="service name (1-50 characters, unique)")
    create.add_argument(
        "--embedder", help="embedder of a recognition collection (env FACEKEEPER_EMBEDDER, default sface)"
    )
    listing = actions.add_parser("list", help="list services and keys")
    delete = actions.add_parser("delete", help="delete a service and its whole collection")
    delete.add_argument("service", help="service name or API key")
    regenerate = actions.add_parser("regenerate-key", help="give a service a new API key")
    regenerate.add_argument("service", help="service name or API key")
    for sub in (create, listing, delete, regenerate):
        sub.add_argument("--json", action="store_true", help="print JSON")
        _common(sub)

    bulk.add_commands(commands, _common)
    admin.add_commands(commands, _common)
    migrate.add_command(commands, _common)

    db = commands.add_parser("db", help="database maintenance")
    db_actions = db.add_subparsers(dest="action", required=True)
    _common(db_actions.add_parser("upgrade", help="apply pending migrations"))
    return parser


def main(argv: Sequence[str] | None = None, *, registry: ModelRegistry | None = None) -> int:
    """`registry`: the models the import commands may use (tests pass fakes); default built-ins + plugins."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            # Imported here: the web stack and the models are not needed to manage keys.
            from facekeeper.cli.serve import serve

            return serve(_settings(args))
        if args.command == "service":
            return _service_command(args)
        if args.command == "admin":
            settings = _settings(args)
            return admin.run(args, settings, open_database(settings))
        if args.command == migrate.COMMAND:
            return migrate.run(args, _settings(args), registry)
        if args.command in bulk.COMMANDS:
            return bulk.run(args, _settings(args), registry)
        if args.command == "db":
            open_database(_settings(args))
            print("Database is up to date.")
            return 0
    except FacekeeperError as error:
        print(f"facekeeper: {error.message}", file=sys.stderr)
        return error.error.exit_code
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        print(f"facekeeper: invalid configuration: {problems}", file=sys.stderr)
        return 2
    return 2
