"""A fake static file host (stands in for GitHub raw: the dataset and prompt downloads)."""

from __future__ import annotations

from pathlib import Path

from .base import FakeServer, Reply, Request, json_reply


class FakeFileHost(FakeServer):
    """Serves the files of a directory at ``/<name>``."""

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = Path(directory)

    @property
    def url_template(self) -> str:
        return self.root + "/{name}"

    async def respond(self, req: Request) -> Reply:
        path = self.directory / req.path.lstrip("/")
        if not path.is_file():
            return json_reply(404, {"error": "not found"})
        return Reply(raw=path.read_bytes())
