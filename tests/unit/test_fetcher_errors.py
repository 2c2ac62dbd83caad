"""The one exception table of crawler.fetcher: every requests exception lands on an error
kind, and the order settles the classes that are two things at once."""

from __future__ import annotations

import http.client
import socket
import ssl

import pytest
import requests.exceptions as rexc
import urllib3.exceptions as uexc

from crawler.errors import ErrorKind
from crawler.fetcher import error_kind_for

# A deliberate decision for each class requests defines: a new one fails
# test_the_table_decides_every_requests_exception until it is added here.
REQUESTS_KINDS: dict[str, ErrorKind] = {
    "RequestException": ErrorKind.INTERNAL,
    "InvalidJSONError": ErrorKind.INTERNAL,
    "JSONDecodeError": ErrorKind.INTERNAL,
    "HTTPError": ErrorKind.INTERNAL,  # raise_for_status: we never call it
    "ConnectionError": ErrorKind.CONNECT,
    "ProxyError": ErrorKind.CONNECT,
    "SSLError": ErrorKind.TLS,  # also a ConnectionError
    "Timeout": ErrorKind.TIMEOUT,
    "ConnectTimeout": ErrorKind.TIMEOUT,  # also a ConnectionError
    "ReadTimeout": ErrorKind.TIMEOUT,
    "URLRequired": ErrorKind.INTERNAL,
    "TooManyRedirects": ErrorKind.TOO_MANY_REDIRECTS,
    "MissingSchema": ErrorKind.INTERNAL,
    "InvalidSchema": ErrorKind.INTERNAL,
    "InvalidURL": ErrorKind.DNS,  # what requests rejects in a canonical URL is its host
    "InvalidHeader": ErrorKind.INTERNAL,
    "InvalidProxyURL": ErrorKind.INTERNAL,  # an InvalidURL, but we use no proxies
    "ChunkedEncodingError": ErrorKind.BAD_RESPONSE,
    "ContentDecodingError": ErrorKind.BAD_RESPONSE,
    "StreamConsumedError": ErrorKind.INTERNAL,
    "RetryError": ErrorKind.INTERNAL,
    "UnrewindableBodyError": ErrorKind.INTERNAL,
}

REQUESTS_EXCEPTIONS = sorted(
    (
        obj
        for obj in vars(rexc).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseException)
        and not issubclass(obj, Warning)
        and obj.__module__ == rexc.__name__
    ),
    key=lambda cls: cls.__name__,
)


def instance(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, rexc.JSONDecodeError):  # json's signature: (msg, doc, pos)
        return cls("boom", "{", 0)
    return cls("boom")


def test_the_table_decides_every_requests_exception() -> None:
    assert {cls.__name__ for cls in REQUESTS_EXCEPTIONS} == set(REQUESTS_KINDS)


@pytest.mark.parametrize("cls", REQUESTS_EXCEPTIONS, ids=lambda cls: cls.__name__)
def test_each_requests_exception_lands_on_its_kind(cls: type[BaseException]) -> None:
    kind = error_kind_for(instance(cls))
    assert isinstance(kind, ErrorKind)
    assert kind is REQUESTS_KINDS[cls.__name__]


def raised(outer: BaseException, cause: BaseException) -> BaseException:
    """`outer` as Python leaves it after `raise outer from cause` inside `except cause`."""
    try:
        try:
            raise cause
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


def max_retry(reason: Exception) -> uexc.MaxRetryError:
    # How urllib3's Retry.increment gives up: MaxRetryError(reason) from reason.
    return raised(uexc.MaxRetryError(None, "/", reason), reason)  # type: ignore[return-value]


refused = raised(
    uexc.NewConnectionError(None, "Failed to establish a new connection"),
    ConnectionRefusedError(111, "Connection refused"),
)
unresolved = raised(
    uexc.NameResolutionError("nonexistent.invalid", None, socket.gaierror(-2, "unknown")),
    socket.gaierror(-2, "Name or service not known"),
)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        # DNS failures arrive as connection errors: found down the chain.
        (rexc.ConnectionError(max_retry(unresolved)), ErrorKind.DNS),
        (raised(rexc.ConnectionError("wrapped"), socket.gaierror(-3, "again")), ErrorKind.DNS),
        # NewConnectionError is a ConnectTimeoutError to urllib3, but it is no timeout.
        (rexc.ConnectionError(max_retry(refused)), ErrorKind.CONNECT),
        (rexc.ConnectTimeout(max_retry(uexc.ConnectTimeoutError(None, "slow"))), ErrorKind.TIMEOUT),
        (
            rexc.ConnectionError(uexc.ReadTimeoutError(None, "/", "Read timed out.")),
            ErrorKind.TIMEOUT,
        ),
        (rexc.SSLError(max_retry(uexc.SSLError(ssl.SSLError(1, "bad record")))), ErrorKind.TLS),
        # Closed before any byte (RemoteDisconnected is also a BadStatusLine): connect.
        (
            rexc.ConnectionError(
                uexc.ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))
            ),
            ErrorKind.CONNECT,
        ),
        # Not HTTP, or headers that never end.
        (
            rexc.ConnectionError(
                uexc.ProtocolError("Connection aborted.", http.client.BadStatusLine("SSH-2.0"))
            ),
            ErrorKind.BAD_RESPONSE,
        ),
        (
            rexc.ConnectionError(
                uexc.ProtocolError("Connection aborted.", http.client.LineTooLong("header line"))
            ),
            ErrorKind.BAD_RESPONSE,
        ),
        # A reset after the answer began is a broken answer, not a connection failure.
        (
            rexc.ChunkedEncodingError(
                uexc.ProtocolError("Connection broken", ConnectionResetError(104, "reset"))
            ),
            ErrorKind.BAD_RESPONSE,
        ),
        (
            rexc.ChunkedEncodingError(uexc.ProtocolError("broken", uexc.IncompleteRead(10, 990))),
            ErrorKind.BAD_RESPONSE,
        ),
        (rexc.ContentDecodingError(uexc.DecodeError("not gzip")), ErrorKind.BAD_RESPONSE),
        # Bare exceptions from below requests.
        (socket.gaierror(-2, "unknown"), ErrorKind.DNS),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), ErrorKind.TLS),
        (ConnectionRefusedError(111, "refused"), ErrorKind.CONNECT),
        (TimeoutError("timed out"), ErrorKind.TIMEOUT),
        (OSError(101, "Network is unreachable"), ErrorKind.CONNECT),
        (http.client.IncompleteRead(b"x", 10), ErrorKind.BAD_RESPONSE),
        # Anything else is a bug of ours.
        (ValueError("boom"), ErrorKind.INTERNAL),
        (KeyError("boom"), ErrorKind.INTERNAL),
        (raised(RuntimeError("outer"), ValueError("inner")), ErrorKind.INTERNAL),
    ],
    ids=repr,
)
def test_the_order_settles_wrapped_and_ambiguous_exceptions(
    exc: BaseException, kind: ErrorKind
) -> None:
    assert error_kind_for(exc) is kind


def test_a_cyclic_chain_terminates() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert error_kind_for(first) is ErrorKind.INTERNAL
