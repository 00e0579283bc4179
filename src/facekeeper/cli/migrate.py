"""`facekeeper migrate --service NAME --embedder X`: re-embed a collection with another embedder.

Progress goes to stderr; the result (text, or JSON with `--json`) to stdout. Ctrl-C stops between two
committed batches: the same command later resumes. `--status` only reports (state, done, total).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from facekeeper.cli.preflight import check_data_dir
from facekeeper.cli.progress import ProgressLine
from facekeeper.settings import Settings

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.services.migration import MigrationProgress

COMMAND = "migrate"
INTERRUPTED_EXIT = 130


def add_command(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser(
        COMMAND, help="re-embed a recognition service's examples from their stored images with another embedder"
    )
    parser.add_argument("--service", required=True, help="recognition service name or API key")
    parser.add_argument(
        "--embedder",
        dest="target_embedder",  # not `embedder`: that would also change the server's default (settings)
        help="target embedder: sface, dlib, sface+dlib, <name>-flip, or a manifest's name",
    )
    parser.add_argument("--status", action="store_true", help="only print the migration's state, done and total")
    parser.add_argument(
        "--workers",
        dest="inference_workers",
        metavar="N",
        type=int,
        help="parallel inference threads (env FACEKEEPER_INFERENCE_WORKERS, default 2)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    common(parser)


def run(args: argparse.Namespace, settings: Settings, registry: ModelRegistry | None = None) -> int:
    from facekeeper.app import build_services
    from facekeeper.errors import Error, FacekeeperError

    if not args.status and not args.target_embedder:
        raise FacekeeperError(Error.MISSING_PARAMETER, name="--embedder")
    check_data_dir(settings)
    services = build_services(settings, registry)
    try:
        service = services.api_keys.recognition_service(args.service)
        if args.status:
            _print(services.migration.progress(service), args.json)
            return 0
        line = ProgressLine(f"migrate {service.name} to {args.target_embedder}")
        try:
            result = services.migration.run(
                service, args.target_embedder, on_progress=lambda now: line.show(now.done, now.total)
            )
        except KeyboardInterrupt:
            line.finish()
            stopped = services.migration.progress(service)
            _print(stopped, args.json)
            return INTERRUPTED_EXIT
        finally:
            line.finish()
    finally:
        services.close()
    _print(result, args.json)
    return 0


def _print(progress: MigrationProgress, as_json: bool) -> None:
    if as_json:
        print(json.dumps(progress.to_json()))
        return
    state = progress.state.value
    if state == "done":
        print(f"Service '{progress.service}' now uses embedder {progress.embedder}: {progress.total:,} examples.")
    elif state == "idle":
        print(f"Service '{progress.service}' uses embedder {progress.embedder} ({progress.total:,} examples).")
    else:
        print(
            f"Migration of '{progress.service}' to {progress.embedder}: {state}, {progress.done:,} of "
            f"{progress.total:,} examples embedded; the old embeddings are still the ones searched. "
            "Run the same command again to resume." + (f" Error: {progress.error}" if progress.error else "")
        )
