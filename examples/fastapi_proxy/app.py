"""A FastAPI service behind larder-proxy, unchanged but for the response headers it sets.

The service states how long each response may be cached (Cache-Control), gives it a validator
(ETag) and names what it depends on (Surrogate-Key); larder-proxy, in front of it, does the rest:
shared storage in larderd, 304s, stale serving, coalescing, and purges by tag on every proxy
replica at once. See docs/proxy.md.

    python3 -m uvicorn app:app --app-dir examples/fastapi_proxy --port 8000
    larder-proxy --listen=127.0.0.1:8080 --upstream=http://127.0.0.1:8000 \
        --larder=127.0.0.1:50051 --config=examples/fastapi_proxy/routes.yaml

Routes:
  GET  /items/{id}    an item: fresh 30 s, ETag, Surrogate-Key "items item-<id>"
  PUT  /items/{id}    changes it (the proxy invalidates /items/<id> on success)
  GET  /me            depends on Authorization: Cache-Control private, never shared
  GET  /bench/page    a 1 KiB page, fresh 60 s, built on every call (no cache in the app)
  GET  /bench/dict    the same page through an in-process dict cache of 60 s (the
                      pattern fastapi-cache's in-memory backend offers)

Environment: RENDER_DELAY_MS (default 0) adds that much work to every uncached render.
"""

import hashlib
import json
import os
import threading
import time

from fastapi import FastAPI, Header, Request, Response

app = FastAPI()

_items = {"1": {"id": "1", "name": "tea"}, "2": {"id": "2", "name": "coffee"}}
_items_lock = threading.Lock()
_renders = {"items": 0, "page": 0}
_page_cache = {}  # path -> (expires_at, body)
_RENDER_DELAY = float(os.environ.get("RENDER_DELAY_MS", "0")) / 1000.0


def _render_work():
    if _RENDER_DELAY > 0:
        time.sleep(_RENDER_DELAY)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@app.get("/items/{item_id}")
def get_item(item_id: str, if_none_match: str | None = Header(default=None)):
    with _items_lock:
        item = _items.get(item_id)
        _renders["items"] += 1
    if item is None:
        return Response(status_code=404, content="no such item\n", media_type="text/plain",
                        headers={"Cache-Control": "max-age=5"})
    _render_work()
    body = json.dumps(item).encode()
    etag = _etag(body)
    headers = {"Cache-Control": "max-age=30, stale-while-revalidate=10, stale-if-error=300",
               "ETag": etag, "Surrogate-Key": f"items item-{item_id}"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


@app.put("/items/{item_id}")
async def put_item(item_id: str, request: Request):
    item = await request.json()
    item["id"] = item_id
    with _items_lock:
        _items[item_id] = item
    return Response(content=json.dumps(item), media_type="application/json")


@app.get("/me")
def me(authorization: str | None = Header(default=None)):
    who = (authorization or "anonymous").split()[-1][:32]
    return Response(content=json.dumps({"user": who}), media_type="application/json",
                    headers={"Cache-Control": "private, max-age=60"})


def _page() -> bytes:
    _renders["page"] += 1
    _render_work()
    return (b"<!doctype html><title>larder</title><p>" + b"x" * 1024)[:1024]


@app.get("/bench/page")
def bench_page():
    return Response(content=_page(), media_type="text/html",
                    headers={"Cache-Control": "max-age=60"})


@app.get("/bench/dict")
def bench_dict():
    now = time.monotonic()
    cached = _page_cache.get("/bench/dict")
    if cached is None or cached[0] <= now:
        cached = (now + 60, _page())
        _page_cache["/bench/dict"] = cached
    return Response(content=cached[1], media_type="text/html",
                    headers={"Cache-Control": "max-age=60"})


@app.get("/renders")
def renders():
    return _renders
