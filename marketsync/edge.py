"""The HTTP and websocket edge of ``/graphql``: bounded bodies, JSON off the loop, coded refusals.

Everything refused here is refused before a document is parsed, with a JSON body in
the GraphQL error shape and an ``extensions.code``:

- ``REQUEST_TOO_LARGE`` (413): a body past ``MAX_REQUEST_BYTES`` (declared or counted
  while it streams in: reading stops at the first byte past the limit), or one with more
  JSON values than ``MAX_REQUEST_JSON_VALUES``;
- ``QUERY_TOO_LARGE`` (413): a GraphQL document longer than ``MAX_QUERY_BYTES`` (UTF-8),
  over HTTP or in a websocket subscribe message, before graphql-core lexes it (a
  comment is no token: the token limit does not bound the lexer's time);
- ``BAD_REQUEST`` (400): a body that is not UTF-8, not JSON, nested too deeply or not a
  JSON object, and every other refusal of Strawberry's view (wrong content type, …);
  a subscription sent over plain HTTP gets a GraphQL error with this code too.

On the websocket: at most ``MAX_WS_CONNECTIONS_PER_CLIENT`` sockets per client address
(the next one is accepted and closed with 4429), and "Subscription limit reached"
carries ``TOO_MANY_SUBSCRIPTIONS`` in both subscription protocols.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import anyio
import anyio.to_thread
import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData, process_result
from strawberry.http.parse_content_type import parse_content_type
from strawberry.http.types import HTTPMethod
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from marketsync.schema.context import Context

# Bodies up to this size are decoded on the loop; larger ones in a worker thread, one
# at a time. (The C decoder holds the GIL while it runs, so a thread alone does not
# bound a stall: the JSON value budget below does.)
INLINE_JSON_BYTES = 64 * 1024
# Websocket messages are subscribe frames: a query and its variables.
WS_MAX_MESSAGE_BYTES = 1024 * 1024
WS_TOO_MANY_CONNECTIONS = 4429
DEFAULT_MAX_QUERY_BYTES = 64 * 1024
DRAIN_BYTES = 4 * 1024 * 1024
DRAIN_S = 5.0
SUBSCRIPTIONS_OVER_HTTP = (
    "Subscriptions are served over the websocket only: open a websocket to /graphql "
    "with the graphql-transport-ws protocol"
)
SUBSCRIPTION_LIMIT = "Subscription limit reached"
_CODES_BY_STATUS = {413: "REQUEST_TOO_LARGE", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
_DECODE_LIMITER = anyio.CapacityLimiter(1)


class EdgeError(Exception):
    """A request refused at the edge; ``response()`` is what the client gets."""

    status = 400
    code = "BAD_REQUEST"

    def response(self) -> Response:
        return coded_response(self.status, str(self), self.code)


class QueryTooLargeError(EdgeError):
    status = 413
    code = "QUERY_TOO_LARGE"


def check_query_size(query: object, limit: int) -> None:
    """Refuses a document past ``limit`` UTF-8 bytes (a lone surrogate counts as 3)."""
    if isinstance(query, str) and (
        len(query) > limit or len(query.encode("utf-8", "surrogatepass")) > limit
    ):
        raise QueryTooLargeError(f"the GraphQL document is larger than {limit} bytes")


class RequestTooLargeError(EdgeError):
    status = 413
    code = "REQUEST_TOO_LARGE"

    def closing_response(self) -> Response:
        """The 413 for a body not read to its end: closing stops the client sending it
        (uvicorn would otherwise read and discard the rest to keep the connection)."""
        response = self.response()
        response.headers["connection"] = "close"
        return response


def coded_response(status: int, message: str, code: str) -> Response:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


def http_error_response(error: HTTPException) -> Response:
    """Strawberry's own refusals (plain text by default) in the same coded shape."""
    code = _CODES_BY_STATUS.get(error.status_code, "BAD_REQUEST")
    return coded_response(error.status_code, error.reason, code)


class BodyLimit:
    """Wraps ``receive``: raises once more than ``limit`` body bytes arrived, declared or not.

    Nothing past the limit is kept. After a refusal, ``drain`` reads and discards the
    rest when the whole body fits in ``limit + DRAIN_BYTES`` (and arrives within
    ``DRAIN_S``), so a client that sent a little too much reads its 413 instead of a reset
    connection; otherwise the 413 closes the connection.
    """

    def __init__(self, scope: Scope, receive: Receive, limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0
        self.ended = False
        self.declared: int | None = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit():
                self.declared = int(value)

    def check_declared(self) -> None:
        if self.declared is not None and self.declared > self.limit:
            raise RequestTooLargeError(f"the request body is larger than {self.limit} bytes")

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.ended = not message.get("more_body", False)
            if self.received > self.limit:
                raise RequestTooLargeError(f"the request body is larger than {self.limit} bytes")
        else:
            self.ended = True  # disconnected
        return message

    async def drain(self) -> bool:
        """True when the body was read to its end (the connection can be kept)."""
        budget = self.limit + DRAIN_BYTES
        if self.declared is not None and self.declared > budget:
            return False
        with anyio.move_on_after(DRAIN_S):
            while not self.ended and self.received <= budget:
                message = await self._receive()
                self.received += len(message.get("body", b""))
                self.ended = message["type"] != "http.request" or not message.get("more_body")
        return self.ended


def decode_json(data: str | bytes, *, max_values: int) -> object:
    """Strict UTF-8 and JSON; every way it can fail is a ``BAD_REQUEST``.

    The value budget counts structural bytes (an over-estimate: commas and brackets in
    strings count too), so a body of millions of tiny values is refused before the
    decoder spends seconds building them.
    """
    raw = data.encode() if isinstance(data, str) else data
    if raw.count(b",") + raw.count(b"[") + raw.count(b"{") > max_values:
        raise RequestTooLargeError(f"the request body has more than {max_values} JSON values")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # the standard library decides: lone surrogates, NaN, big ints, the error kind
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EdgeError("the request body is not valid UTF-8") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise EdgeError("the request body is not valid JSON") from error
    except RecursionError as error:
        raise EdgeError("the request body is nested too deeply") from error


async def decode_json_off_loop(data: bytes, *, max_values: int, max_query_bytes: int) -> object:
    if len(data) <= INLINE_JSON_BYTES:
        return decode_json(data, max_values=max_values)
    return await anyio.to_thread.run_sync(
        lambda: _without_undeclared_variables(
            decode_json(data, max_values=max_values), max_query_bytes
        ),
        limiter=_DECODE_LIMITER,
    )


def _without_undeclared_variables(data: object, max_query_bytes: int) -> object:
    """Variables no operation declares are never used: dropped here, off the loop, so a
    big unused one costs nothing later (every later walk over variables runs on the loop).
    """
    if not isinstance(data, dict) or not isinstance(data.get("variables"), dict):
        return data
    query = data.get("query")
    try:
        check_query_size(query, max_query_bytes)
        document = parse(query) if isinstance(query, str) else None
    except QueryTooLargeError:
        return data  # refused by request_data, unparsed
    except GraphQLError:
        document = None  # refused later with the syntax error; no variable is used
    declared = {
        definition.variable.name.value
        for operation in (document.definitions if document else ())
        if isinstance(operation, OperationDefinitionNode)
        for definition in operation.variable_definitions or ()
    }
    variables = data["variables"]
    return {**data, "variables": {k: v for k, v in variables.items() if k in declared}}


def request_data(data: object, *, max_query_bytes: int) -> GraphQLRequestData:
    """The checks of Strawberry's ``parse_http_body`` for one operation (batching is off)."""
    if not isinstance(data, dict):
        raise EdgeError("the request body must be a JSON object")
    query, variables, extensions = data.get("query"), data.get("variables"), data.get("extensions")
    operation_name = data.get("operationName")
    if not isinstance(query, str | None) or not isinstance(operation_name, str | None):
        raise EdgeError("`query` and `operationName` must be strings or null")
    if not isinstance(variables, dict | None) or not isinstance(extensions, dict | None):
        raise EdgeError("`variables` and `extensions` must be objects or null")
    check_query_size(query, max_query_bytes)
    return GraphQLRequestData(
        query=query,
        variables=variables,
        operation_name=operation_name,
        extensions=extensions,
        protocol="http",
    )


def _query_too_large(query: object, view: object) -> GraphQLError | None:
    try:
        check_query_size(query, getattr(view, "max_query_bytes", DEFAULT_MAX_QUERY_BYTES))
    except QueryTooLargeError as error:
        return GraphQLError(str(error), extensions={"code": error.code})
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            error = GraphQLError(SUBSCRIPTION_LIMIT, extensions={"code": "TOO_MANY_SUBSCRIPTIONS"})
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        if too_large := _query_too_large(message["payload"].get("query"), self.view):
            payload = [too_large.formatted]
            await self.send_message({"id": message["id"], "type": "error", "payload": payload})
            return
        await super().handle_subscribe(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle_start(self, message: StartMessage) -> None:
        limit = self.max_subscriptions_per_connection
        running = len(self.tasks) - (message["id"] in self.tasks)  # a reused id is replaced
        if self.connection_acknowledged and limit is not None and running >= limit:
            payload: Any = {"message": SUBSCRIPTION_LIMIT}
            payload["extensions"] = {"code": "TOO_MANY_SUBSCRIPTIONS"}
            await self.send_message({"type": "error", "id": message["id"], "payload": payload})
            return
        if too_large := _query_too_large(message["payload"].get("query"), self.view):
            error_payload: Any = too_large.formatted
            await self.send_message(
                {"type": "error", "id": message["id"], "payload": error_payload}
            )
            return
        await super().handle_start(message)


def _is_json_post(scope: Scope) -> bool:
    """POST with ``Content-Type: application/json`` (parameters allowed), the API's path."""
    if scope["method"] != "POST":
        return False
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type == b"application/json"
    return False


class EdgeGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with the edge's limits; see the module docstring."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self,
        *args: Any,
        max_request_bytes: int,
        max_json_values: int,
        max_ws_per_client: int,
        max_query_bytes: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_request_bytes = max_request_bytes
        self.max_json_values = max_json_values
        self.max_ws_per_client = max_ws_per_client
        self.max_query_bytes = max_query_bytes
        self._sockets: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        body = BodyLimit(scope, receive, self.max_request_bytes)
        try:
            body.check_declared()
            request = Request(scope, body.receive)
            if _is_json_post(scope):
                response = await self._post_json(request)
            else:
                response = await self.run(request)
        except RequestTooLargeError as error:
            response = error.response() if await body.drain() else error.closing_response()
        except EdgeError as error:
            response = error.response()
        except HTTPException as error:
            response = http_error_response(error)
        await response(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if self._sockets[address] >= self.max_ws_per_client:
            socket = WebSocket(scope, receive, send)
            offered = socket.scope.get("subprotocols", [])
            chosen = next((p for p in offered if p in self.websocket_subprotocols), None)
            await socket.accept(subprotocol=chosen)
            await socket.close(WS_TOO_MANY_CONNECTIONS, "Too many websocket connections")
            return
        self._sockets[address] += 1
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._sockets[address] -= 1
            if self._sockets[address] <= 0:
                del self._sockets[address]

    def encode_json(self, data: object) -> str:
        """orjson (UTF-8, no spaces); what it refuses (a lone surrogate) as the stdlib writes
        it. Text, not bytes: Strawberry sends bytes as binary websocket frames."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    def parse_json(self, data: str | bytes) -> Any:
        """GET's ``variables`` and ``extensions`` (bounded by the URL's length)."""
        return decode_json(data, max_values=self.max_json_values)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            body = await request.get_body()
            data = await decode_json_off_loop(
                body, max_values=self.max_json_values, max_query_bytes=self.max_query_bytes
            )
            return request_data(data, max_query_bytes=self.max_query_bytes)
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
            return request_data(data, max_query_bytes=self.max_query_bytes)
        return await super().parse_http_body(request)

    async def _post_json(self, request: Request) -> Response:
        """A JSON POST, as Strawberry's ``run`` does it for one operation, without its
        per-request machinery (adapter, sub-response, protocol checks): the same body
        checks, context, execution and response shape."""
        # No sub-response: our context never sets headers or a status on one.
        context = await self.get_context(request, response=None)  # type: ignore[arg-type]
        data = await decode_json_off_loop(
            await request.body(),
            max_values=self.max_json_values,
            max_query_bytes=self.max_query_bytes,
        )
        parsed = request_data(data, max_query_bytes=self.max_query_bytes)
        result = await self._execute(parsed, context, "POST")
        return Response(self.encode_json(process_result(result)), media_type="application/json")

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        return await self._execute(request_data, context, request_adapter.method)

    async def _execute(
        self, request_data: GraphQLRequestData, context: Context, method: HTTPMethod
    ) -> ExecutionResult:
        """As Strawberry's ``execute_single``, but a subscription (or multipart
        subscription) is refused."""
        allowed = OperationType.from_http(method) - {OperationType.SUBSCRIPTION}
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=None,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                refused = GraphQLError(SUBSCRIPTIONS_OVER_HTTP, extensions={"code": "BAD_REQUEST"})
                return ExecutionResult(data=None, errors=[refused])
            raise EdgeError(error.as_http_error_reason(method)) from error
        except CannotGetOperationTypeError as error:
            raise EdgeError(error.as_http_error_reason()) from error
        except MissingQueryError as error:
            raise EdgeError("No GraphQL query found in the request") from error
