"""``cmpapi assets upload FILE... --folder ID``: files into the library, with a progress bar
per file and one overall, resumable.

Resuming works at two levels. The SDK's :class:`~cmpapi.client.uploads.UploadJournal`
(in ``$XDG_CACHE_HOME/cmpapi/uploads``) lets an interrupted multipart upload go on with
the parts it lacks. This command adds a batch record beside it: the files of the same
command (same server, folder and files) that already became assets, so that rerunning an
interrupted command skips them instead of creating them twice. The record goes once the
whole batch is done: running the command again then uploads again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from cmpapi.cli import profiles, remote
from cmpapi.cli.library_remote import ASSET_COLUMNS, assets_app
from cmpapi.cli.remote import Output, OutputOption, ProfileOption

MiB = 1024**2


class Batch:
    """The files of one upload command that already became assets (``path -> asset``)."""

    def __init__(self, directory: Path, base_url: str, folder: str | None, files: list[Path]):
        identity = [base_url, folder or "", *(_file_identity(f) for f in files)]
        digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]
        self.path = directory / f"batch-{digest}.json"
        try:
            self.done: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.done = {}

    def record(self, file: Path, asset: dict[str, Any]) -> None:
        """``file`` became ``asset``: remembered at once (the next file may be cut short)."""
        self.done[str(file)] = asset
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.done))
        os.replace(temporary, self.path)

    def finish(self) -> None:
        """The whole batch is done: forget it."""
        self.path.unlink(missing_ok=True)


def _file_identity(file: Path) -> str:
    info = file.stat()
    return f"{file}:{info.st_size}:{info.st_mtime_ns}"


def assets_upload(
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, readable=True, help="Files to upload"),
    ],
    folder: Annotated[str | None, typer.Option(help="Folder id (default: the top)")] = None,
    title: Annotated[
        str | None, typer.Option(help="Title (one file only; default: the file name)")
    ] = None,
    part_size: Annotated[
        int | None, typer.Option(min=5, help="Multipart part size in MiB (default: 8 or more)")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Parts sent at once")] = 4,
    multipart_threshold: Annotated[
        int, typer.Option(min=1, help="Files from this many MiB on go in parts (resumable)")
    ] = 64,
    output: OutputOption = Output.table,
    profile: ProfileOption = profiles.DEFAULT_PROFILE,
) -> None:
    """Upload files and create library assets of them.

    A progress bar per file and one overall. Interrupted (Ctrl-C, a lost connection),
    the same command run again skips the files already uploaded and resumes the one cut
    short from the parts it lacks."""
    from cmpapi.client.uploads import UploadJournal

    if title is not None and len(files) > 1:
        remote.fail("--title names one file's asset: give one file", remote.EXIT_USAGE)
    files = list(dict.fromkeys(f.resolve() for f in files))
    journal_dir = profiles.cache_dir() / "uploads"
    created: list[dict[str, Any]] = []
    with remote.session(profile) as client:
        journal = UploadJournal(journal_dir)
        batch = Batch(journal_dir, client.endpoints.base_url, folder, files)
        with _bars(files, batch) as start:
            for file in files:
                if str(file) in batch.done:
                    created.append(batch.done[str(file)])
                    remote.err.print(
                        f"{file.name}: uploaded before this interruption "
                        f"(asset {created[-1].get('id')})"
                    )
                    continue
                asset = client.library.upload_asset(
                    file,
                    folder_id=folder,
                    title=title,
                    progress=start(file),
                    part_size=part_size * MiB if part_size else None,
                    concurrency=concurrency,
                    resume=journal,
                    multipart_threshold=multipart_threshold * MiB,
                )
                batch.record(file, remote.plain(asset))
                created.append(batch.done[str(file)])
        batch.finish()
    remote.show(created, output, ASSET_COLUMNS)


@contextmanager
def _bars(
    files: list[Path], batch: Batch
) -> Iterator[Callable[[Path], Callable[[int, int], None]]]:
    """Rich progress bars (on stderr): one overall, one per file; yields the function
    that starts a file's bar and returns its progress callback."""
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    sizes = {file: file.stat().st_size for file in files}
    columns = (*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=remote.err) as bars:
        already = sum(sizes[f] for f in files if str(f) in batch.done)
        overall = bars.add_task("all files", total=sum(sizes.values()), completed=already)
        sent: dict[Path, int] = {}

        def start(file: Path) -> Callable[[int, int], None]:
            bar = bars.add_task(file.name, total=sizes[file])

            def progress(done: int, total: int) -> None:
                sent[file] = done
                bars.update(bar, completed=done, total=total)
                bars.update(overall, completed=already + sum(sent.values()))

            return progress

        yield start


def register() -> None:
    """Add ``upload`` to the ``assets`` group."""
    assets_app.command("upload")(assets_upload)
