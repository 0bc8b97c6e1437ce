"""Media files under ``MEDIA_ROOT``: one directory per job, written atomically.

Files are first written in a work directory on the same filesystem and then moved into place
with ``os.replace``, so a reader never sees half a file and a duplicate delivery that writes
the same job again replaces the asset instead of adding a second one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app

VARIANTS = {"video": ("video.mp4", "video/mp4"), "thumbnail": ("thumbnail.jpg", "image/jpeg")}


class MediaStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def job_dir(self, job_id: str) -> Path:
        if "/" in job_id or job_id.startswith("."):
            raise ValueError(f"bad job id {job_id!r}")
        return self.root / "jobs" / job_id

    def path(self, job_id: str, variant: str) -> Path:
        filename, _ = VARIANTS[variant]
        return self.job_dir(job_id) / filename

    @contextmanager
    def workdir(self) -> Iterator[Path]:
        """A scratch directory on the media filesystem, removed afterwards."""
        scratch = self.root / ".work"
        scratch.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(dir=scratch))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def put(self, job_id: str, variant: str, source: Path) -> str:
        """Move ``source`` into place atomically; return the path relative to the root."""
        target = self.path(job_id, variant)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}")
        shutil.copyfile(source, staging)
        os.replace(staging, target)
        return str(target.relative_to(self.root))

    def put_file(self, relative: str, source: Path) -> str:
        """Atomically place ``source`` at ``relative`` (for assets that are not job variants)."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}")
        shutil.copyfile(source, staging)
        os.replace(staging, target)
        return relative

    def resolve(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("path escapes MEDIA_ROOT")
        return path

    def delete_job(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    @staticmethod
    def film(storyboard_id: str) -> str:
        """Where a storyboard's compiled film lives, relative to the root."""
        if "/" in storyboard_id or storyboard_id.startswith("."):
            raise ValueError(f"bad storyboard id {storyboard_id!r}")
        return f"storyboards/{storyboard_id}/film.mp4"

    def delete_storyboard(self, storyboard_id: str) -> None:
        self.delete(str(Path(self.film(storyboard_id)).parent))

    def delete(self, relative: str) -> None:
        path = self.resolve(relative)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def get_storage() -> MediaStorage:
    """The storage for the current app (``MEDIA_ROOT``)."""
    return MediaStorage(current_app.config["MEDIA_ROOT"])
