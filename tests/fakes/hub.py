"""A fake Hugging Face Hub (``HF_ENDPOINT=http://127.0.0.1:<port>``): a dataset's files at commits,
as huggingface_hub's ``hf_hub_download`` asks for them.

- ``HEAD|GET /datasets/<repo>/resolve/<revision>/<path>``: the file, with ``X-Repo-Commit`` (the
  commit the revision names), ``ETag`` and ``Content-Length``; no Xet headers, so the client takes
  its plain HTTP path; ``Range: bytes=N-`` answered with 206 (how it resumes a dropped download);
- an unknown revision: 404 with ``X-Error-Code: RevisionNotFound``; an unknown file: ``EntryNotFound``;
- ``drop_mid_file``: that many GETs send half the file, then the connection is closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Dict, Optional

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response, StreamingResponse

from .base import FakeServer, Reply, Request, json_reply

RESOLVE = re.compile(r"^/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


class FakeHub(FakeServer):
    def __init__(self, repo_id: str, commits: Dict[str, Dict[str, bytes]], refs: Optional[Dict[str, str]] = None):
        super().__init__()
        self.repo_id = repo_id
        self.commits = commits  # commit hash -> {path in the repo: bytes}
        self.refs = refs or {}  # branch or tag -> commit hash
        self.drop_mid_file = 0

    @property
    def endpoint(self) -> str:
        return self.root

    def _find(self, path: str) -> tuple[Optional[Reply], Optional[bytes], str]:
        from urllib.parse import unquote

        m = RESOLVE.match(path)
        if not m or unquote(m["repo"]) != self.repo_id:
            return json_reply(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}), None, ""
        rev = unquote(m["rev"])
        commit = self.refs.get(rev, rev)
        if commit not in self.commits:
            return json_reply(404, {"error": f"Revision Not Found for url: {path}"},
                              {"X-Error-Code": "RevisionNotFound"}), None, ""
        content = self.commits[commit].get(unquote(m["path"]))
        if content is None:
            return json_reply(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound",
                                                                   "X-Repo-Commit": commit}), None, ""
        return None, content, commit

    async def _endpoint(self, request: StarletteRequest) -> Response:
        if request.method == "GET" and self.drop_mid_file > 0:
            _, content, commit = self._find(request.url.path)
            if content is not None:
                self.drop_mid_file -= 1
                self.requests.append(await Request.read(request))
                transport = getattr(getattr(request.receive, "__self__", None), "transport", None)

                async def half():  # the first half, then the connection is gone
                    yield content[: len(content) // 2]
                    await asyncio.sleep(0.05)
                    transport.close()
                    await asyncio.sleep(30)  # cancelled when the server sees the disconnect

                return StreamingResponse(half(), headers={**self._headers(content, commit),
                                                          "Content-Type": "application/octet-stream"})
        return await super()._endpoint(request)

    @staticmethod
    def _headers(content: bytes, commit: str) -> Dict[str, str]:
        return {"X-Repo-Commit": commit, "ETag": f'"{hashlib.sha256(content).hexdigest()}"',
                "Content-Length": str(len(content)), "Accept-Ranges": "bytes"}

    async def respond(self, req: Request) -> Reply:
        error, content, commit = self._find(req.path)
        if error is not None or content is None:
            return error or json_reply(404, {"error": "not found"})
        headers = self._headers(content, commit)
        if req.method == "HEAD":
            return Reply(raw=b"", headers=headers, content_type="application/octet-stream")
        start = re.match(r"bytes=(\d+)-$", req.headers.get("range", ""))
        if start:
            first = int(start.group(1))
            headers.update({"Content-Length": str(len(content) - first),
                            "Content-Range": f"bytes {first}-{len(content) - 1}/{len(content)}"})
            return Reply(status=206, raw=content[first:], headers=headers, content_type="application/octet-stream")
        return Reply(raw=content, headers=headers, content_type="application/octet-stream")
