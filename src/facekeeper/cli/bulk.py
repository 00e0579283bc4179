"""`facekeeper import | export | import-archive`: parse options, build the same services the server uses,
show progress on stderr, print the report (text, or JSON with `--json`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from facekeeper.cli.preflight import check_data_dir, open_database
from facekeeper.cli.progress import ProgressLine
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.settings import Settings

if TYPE_CHECKING:  # the use cases are imported when a command runs: `--help` and key commands stay quick
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.services.bulk import ImportReport
    from facekeeper.services.export import ExportReport

COMMANDS = ("import", "export", "import-archive")
STDIO = "-"


def add_commands(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    folder = commands.add_parser("import", help="import a folder of photos: one subfolder per subject")
    folder.add_argument("directory", type=Path, help="folder holding one folder of photos per subject")
    archive = commands.add_parser("import-archive", help="import an archive made by `facekeeper export`")
    archive.add_argument("archive", help="archive file (.tar or .tar.gz), or - for stdin")
    export = commands.add_parser("export", help="write a service's subjects, examples and images to an archive")
    export.add_argument("out", help="archive to create (.tar, or .tar.gz / .tgz to compress), or - for stdout")
    export.add_argument("--no-images", action="store_true", help="leave images out (embeddings only)")
    for parser in (folder, archive):
        parser.add_argument(
            "--workers",
            dest="inference_workers",
            metavar="N",
            type=int,
            help="parallel inference threads (env FACEKEEPER_INFERENCE_WORKERS, default 2)",
        )
    for parser in (folder, archive, export):
        parser.add_argument("--service", required=True, help="recognition service name or API key")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        common(parser)


def run(args: argparse.Namespace, settings: Settings, registry: ModelRegistry | None = None) -> int:
    if args.command == "export":
        return _export(args, settings)
    from facekeeper.app import build_services
    from facekeeper.services.archive_import import ArchiveImport
    from facekeeper.services.folder_import import FolderImport

    check_data_dir(settings)
    services = build_services(settings, registry)
    try:
        service = services.api_keys.recognition_service(args.service)
        max_file_bytes = settings.max_file_size
        with _progress(args.command) as show:
            if args.command == "import":
                importer = FolderImport(services.examples, services.workers.inference_pool, max_file_bytes)
                report = importer.run(service, args.directory, show)
            else:
                archive = ArchiveImport(
                    services.examples, services.subjects, services.workers.inference_pool, max_file_bytes
                )
                with _opened(args.archive) as source:
                    report = archive.run(service, source, args.archive, show)
    finally:
        services.close()
    _print_import(report, args.json)
    return 0


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[ImportReport], None]]:
    line = ProgressLine(label)

    def show(report: ImportReport) -> None:
        counts = f"imported {report.imported:,}, already {report.already_imported:,}, skipped {len(report.skipped):,}"
        line.show(report.done, report.total, counts)

    try:
        yield show
    finally:
        line.finish()


@contextlib.contextmanager
def _opened(path: str) -> Iterator[IO[bytes]]:
    if path == STDIO:
        yield sys.stdin.buffer
        return
    try:
        source = open(path, "rb")  # noqa: SIM115 - closed below, after the error translation
    except OSError as error:
        reason = error.strerror or str(error)
        raise FacekeeperError(Error.FILE_UNUSABLE, action="read", path=path, reason=reason) from error
    with source:
        yield source


def _print_import(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_json()))
        return
    mode = f" ({report.details['mode']})" if "mode" in report.details else ""
    print(
        f"Imported {report.imported:,} of {report.total:,} into '{report.service}'{mode} in {report.elapsed_s:.1f} s "
        f"({report.per_second:.1f}/s); {report.already_imported:,} already imported, "
        f"{len(report.skipped):,} skipped."
    )
    for skipped in report.skipped:
        print(f"  skipped {skipped.path}: {skipped.reason.value} ({skipped.message})")


class _Counting:
    """Counts the bytes an export writes, wherever they go."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from facekeeper.services.export import ExportService  # no models, no web stack

    db = open_database(settings)
    try:
        service = ApiKeyService(db).recognition_service(args.service)
        compress = args.out.endswith((".gz", ".tgz"))
        exporter = ExportService(db)
        line = ProgressLine("export")
        try:
            with _created(args.out) as out:
                counting = _Counting(out)
                report = exporter.export(
                    service,
                    counting,  # type: ignore[arg-type]
                    with_images=not args.no_images,
                    compress=compress,
                    progress=lambda done, total: line.show(done, total),
                )
        finally:
            line.finish()
    finally:
        db.dispose()
    _print_export(report, args.out, counting.written, args.json)
    return 0


@contextlib.contextmanager
def _created(path: str) -> Iterator[IO[bytes]]:
    """The archive, written under a temporary name and renamed when complete: an interrupted export
    never leaves a file that looks whole."""
    if path == STDIO:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.exists():
        raise FacekeeperError(Error.OUTPUT_EXISTS, path=path)
    partial = target.with_name(target.name + ".partial")
    try:
        with open(partial, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        reason = error.strerror or str(error)
        raise FacekeeperError(Error.FILE_UNUSABLE, action="write", path=path, reason=reason) from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _print_export(report: ExportReport, path: str, size_bytes: int, as_json: bool) -> None:
    # With the archive on stdout, the report goes to stderr.
    stream = sys.stderr if path == STDIO else sys.stdout
    if as_json:
        print(json.dumps({**report.as_json(), "path": path, "bytes": size_bytes}), file=stream)
        return
    manifest = report.manifest
    print(
        f"Exported '{manifest.service}' to {path}: {manifest.subjects:,} subjects, {manifest.examples:,} examples, "
        f"{manifest.images:,} images, {size_bytes / 1e6:.1f} MB in {report.elapsed_s:.1f} s.",
        file=stream,
    )
