"""Iterating every page of an AIP-158 List method (page_token / next_page_token)."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

from google.protobuf.message import Message


def pages(method: Callable[..., Message], request: Message, **call_kwargs: Any) -> Iterator[Message]:
    """Yields each response of `method` (e.g. client.resources.ListPods), following
    next_page_token until it is empty. `request` is not modified; call_kwargs (timeout=...,
    metadata=...) go to every call. Raises ValueError if the server repeats a page token."""
    req = type(request)()
    req.CopyFrom(request)
    seen = set()
    while True:
        resp = method(req, **call_kwargs)
        yield resp
        token = resp.next_page_token
        if not token:
            return
        if token in seen:
            raise ValueError(f"{type(resp).__name__}: the server repeated a page token")
        seen.add(token)
        req.page_token = token


def items_field(response_type: type) -> str:
    """The name of the repeated message field a List response carries its items in."""
    fields = [
        f
        for f in response_type.DESCRIPTOR.fields
        if f.label == f.LABEL_REPEATED and f.message_type is not None
        and not f.message_type.GetOptions().map_entry
    ]
    if len(fields) != 1:
        raise ValueError(
            f"{response_type.__name__} has {len(fields)} repeated message fields: name one"
        )
    return fields[0].name


def paginate(
    method: Callable[..., Message],
    request: Message,
    field: Optional[str] = None,
    **call_kwargs: Any,
) -> Iterator[Message]:
    """Yields every item of every page, e.g.

        for pod in paginate(client.resources.ListPods, v1.ListPodsRequest(page_size=50)):
            print(pod.name)

    `field` names the repeated field of the response (found automatically when there is just
    one, as in every k8intel List response)."""
    for resp in pages(method, request, **call_kwargs):
        yield from getattr(resp, field or items_field(type(resp)))
