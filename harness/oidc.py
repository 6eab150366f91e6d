"""A local stand-in for the Actions runtime's OIDC token endpoint.

A job with `permissions: id-token: write` gets ACTIONS_ID_TOKEN_REQUEST_URL and
ACTIONS_ID_TOKEN_REQUEST_TOKEN; a GET of the URL plus `&audience=<aud>` with
`Authorization: bearer <token>` answers `{"value": "<JWT>"}`, a token for that audience
naming the repository. This fake answers the same on 127.0.0.1 and records each request:

    with OidcIssuer("octo-org/project") as issuer:
        run_job(..., env=issuer.env)
        assert issuer.audiences == ["sts.amazonaws.com"]

The JWT is well-formed (header, claims, signature segments) but signed by nobody.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def _segment(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@dataclass
class OidcIssuer:
    repository: str = "octo-org/project"
    request_token: str = "fake-id-token-request-token"
    audiences: list[str] = field(default_factory=list)
    refused: int = 0  # requests without the runtime's bearer token
    issued: list[str] = field(default_factory=list)

    def token(self, audience: str) -> str:
        now = int(time.time())
        claims = {
            "iss": "https://token.actions.githubusercontent.com",
            "aud": audience,
            "sub": f"repo:{self.repository}:ref:refs/heads/main",
            "repository": self.repository,
            "iat": now,
            "exp": now + 300,
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": "fake"}
        return f"{_segment(header)}.{_segment(claims)}.{_segment({'signature': 'none'})}"

    def __enter__(self) -> OidcIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization", "").lower() != (
                    f"bearer {issuer.request_token}"
                ):
                    issuer.refused += 1
                    self._answer(401, {"message": "Bad credentials"})
                    return
                audience = parse_qs(urlsplit(self.path).query).get("audience", [""])[0]
                issuer.audiences.append(audience)
                token = issuer.token(audience)
                issuer.issued.append(token)
                self._answer(200, {"value": token})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def env(self) -> dict[str, str]:
        """What the runner gives a job allowed `id-token: write`."""
        port = self._server.server_address[1]
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"http://127.0.0.1:{port}/token?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }
