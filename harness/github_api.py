"""A small local fake of GitHub's REST API, for workflows run by harness.actions.

    with FakeGitHub("octo-org/project") as api:
        api.add_environment("production", reviewers=["alice"])
        api.approve(run_id, "alice", comment="ship it")
        ...  # run_workflow(..., api=api, run_id=run_id): GITHUB_API_URL is api.url
        assert api.issues[0]["title"].startswith("Retraining failed")

A threaded HTTP server on 127.0.0.1 (a free port) whose state is plain Python the test
reads and changes directly. It answers, with GitHub's documented field names:

- GET  /repos/{owner}/{repo}: the repository (full_name, default_branch, private).
- GET  /repos/{owner}/{repo}/environments and .../environments/{name}: the environment
  with `protection_rules` (type `required_reviewers` with `reviewers: [{type, reviewer:
  {login}}]` and `prevent_self_review`; type `wait_timer`); 404 for an unknown one.
- GET  .../actions/runs/{run_id}: the run (event, head_sha, actor, triggering_actor,
  status and conclusion once run_workflow has finished it).
- GET  .../actions/runs/{run_id}/approvals: the review history of the run, a list of
  `{state, comment, environments: [{id, name, ...}], user: {login}}`.
- POST/GET .../issues, GET/PATCH .../issues/{number}, POST/GET .../issues/{number}/comments.
- POST/GET .../pulls, PATCH .../pulls/{number} (title, body, head, base; one pull
  request open per head branch, as GitHub allows).
- POST .../dispatches (recorded in `dispatches`; 204).

Every request is recorded in `requests` (method, path, query, body, authorization);
each needs an `Authorization: Bearer <token>` (or `token <token>`) with the fake's token,
else 401 as GitHub answers. Other paths answer 404 {"message": "Not Found"}. Not faithful:
one repository, no pagination, no permissions or scopes, no rate limits.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DOCS = "https://docs.github.com/rest"
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str


@dataclass
class FakeGitHub:
    repository: str = "octo-org/project"
    token: str = "ghs_fake-github-token"
    default_branch: str = "main"
    private: bool = True
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    approvals: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # Serving

    def start(self) -> FakeGitHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # State a test sets up

    def add_environment(
        self,
        name: str,
        reviewers: list[str] | tuple[str, ...] = (),
        prevent_self_review: bool = False,
        wait_timer: int = 0,
    ) -> dict[str, Any]:
        """An environment (Settings > Environments), with required reviewers if given."""
        rules = []
        if reviewers:
            rules.append(
                {
                    "id": next(self._ids),
                    "node_id": f"GA_{name}_reviewers",
                    "type": "required_reviewers",
                    "prevent_self_review": prevent_self_review,
                    "reviewers": [
                        {"type": "User", "reviewer": _user(login)} for login in reviewers
                    ],
                }
            )
        if wait_timer:
            rules.append(
                {
                    "id": next(self._ids),
                    "node_id": f"GA_{name}_timer",
                    "type": "wait_timer",
                    "wait_timer": wait_timer,
                }
            )
        environment = {
            "id": next(self._ids),
            "node_id": f"EN_{name}",
            "name": name,
            "url": f"{self.url}/repos/{self.repository}/environments/{name}",
            "html_url": f"https://github.com/{self.repository}/deployments/activity_log"
            f"?environments_filter={name}",
            "created_at": _now(),
            "updated_at": _now(),
            "can_admins_bypass": True,
            "protection_rules": rules,
            "deployment_branch_policy": None,
        }
        self.environments[name] = environment
        return environment

    def required_reviewers(self, environment: str) -> list[str]:
        """The logins that may approve a job of `environment` (none: it needs no approval)."""
        found = self.environments.get(environment) or {}
        return [
            reviewer["reviewer"]["login"]
            for rule in found.get("protection_rules", [])
            if rule["type"] == "required_reviewers"
            for reviewer in rule["reviewers"]
        ]

    def add_run(self, run_id: int, **details: Any) -> dict[str, Any]:
        """A workflow run (run_workflow records each of its runs here)."""
        actor = _user(details.get("actor", "octocat"))
        run = {
            "id": run_id,
            "name": details.get("name", ""),
            "event": details.get("event", "push"),
            "status": "in_progress",
            "conclusion": None,
            "head_branch": str(details.get("ref", "")).split("/", 2)[-1],
            "head_sha": details.get("head_sha", ""),
            "run_attempt": 1,
            "actor": actor,
            "triggering_actor": actor,
            "html_url": f"https://github.com/{self.repository}/actions/runs/{run_id}",
        }
        self.runs[run_id] = run
        return run

    def approve(
        self,
        run_id: int,
        login: str,
        environments: list[str] | tuple[str, ...] = ("production",),
        state: str = "approved",
        comment: str = "",
    ) -> dict[str, Any]:
        """A review of a run's deployment (`state` approved or rejected), as a reviewer
        gives in the run's page. GitHub refuses a reviewer who is not required, and the
        run's own actor when the environment prevents self-review; so does this."""
        for name in environments:
            if login not in self.required_reviewers(name):
                raise ValueError(f"{login} is not a required reviewer of {name}")
            rule = next(
                rule
                for rule in self.environments[name]["protection_rules"]
                if rule["type"] == "required_reviewers"
            )
            actor = self.runs.get(run_id, {}).get("actor", {}).get("login")
            if rule["prevent_self_review"] and login == actor:
                raise ValueError(f"{login} started run {run_id} and {name} prevents self-review")
        review = {
            "state": state,
            "comment": comment,
            "environments": [
                _environment_summary(self.environments[name]) for name in environments
            ],
            "user": _user(login),
        }
        self.approvals.setdefault(run_id, []).append(review)
        return review

    def issue(self, number: int) -> dict[str, Any]:
        return next(issue for issue in self.issues if issue["number"] == number)

    def calls(self, method: str, pattern: str) -> list[Request]:
        """The recorded requests of `method` whose path matches the regular expression."""
        return [
            request
            for request in self.requests
            if request.method == method and re.fullmatch(pattern, request.path)
        ]

    # The API

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not match or f"{match[1]}/{match[2]}".lower() != self.repository.lower():
            return 404, _not_found()
        rest = match[3] or ""
        if rest == "":
            return 200, self._repository()
        with self._lock:
            for route_method, pattern, handler in ROUTES:
                found = re.fullmatch(pattern, rest)
                if found and route_method == method:
                    return handler(self, query, body, *found.groups())
        return 404, _not_found()

    def _repository(self) -> dict[str, Any]:
        owner, name = self.repository.split("/", 1)
        return {
            "id": 1,
            "name": name,
            "full_name": self.repository,
            "owner": _user(owner),
            "private": self.private,
            "default_branch": self.default_branch,
            "html_url": f"https://github.com/{self.repository}",
        }

    def _environments(self, query: dict, body: Any) -> tuple[int, Any]:
        environments = list(self.environments.values())
        return 200, {"total_count": len(environments), "environments": environments}

    def _environment(self, query: dict, body: Any, name: str) -> tuple[int, Any]:
        if name not in self.environments:
            return 404, _not_found()
        return 200, self.environments[name]

    def _run(self, query: dict, body: Any, run_id: str) -> tuple[int, Any]:
        run = self.runs.get(int(run_id))
        return (200, run) if run else (404, _not_found())

    def _approvals(self, query: dict, body: Any, run_id: str) -> tuple[int, Any]:
        if int(run_id) not in self.runs:
            return 404, _not_found()
        return 200, self.approvals.get(int(run_id), [])

    def _dispatch(self, query: dict, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not body.get("event_type"):
            return 422, {"message": 'Invalid request.\n\n"event_type" wasn\'t supplied.'}
        self.dispatches.append(
            {"event_type": body["event_type"], "client_payload": body.get("client_payload", {})}
        )
        return 204, None

    def _create_issue(self, query: dict, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not body.get("title"):
            return 422, {"message": "Validation Failed", "errors": [{"field": "title"}]}
        number = len(self.issues) + len(self.pulls) + 1
        issue = {
            "id": next(self._ids),
            "node_id": f"I_{number}",
            "number": number,
            "title": body["title"],
            "body": body.get("body"),
            "state": "open",
            "state_reason": None,
            "labels": [_label(label) for label in body.get("labels") or []],
            "assignees": [_user(login) for login in body.get("assignees") or []],
            "user": BOT,
            "comments": 0,
            "url": f"{self.url}/repos/{self.repository}/issues/{number}",
            "html_url": f"https://github.com/{self.repository}/issues/{number}",
            "created_at": _now(),
            "updated_at": _now(),
            "closed_at": None,
        }
        self.issues.append(issue)
        return 201, issue

    def _list_issues(self, query: dict, body: Any) -> tuple[int, Any]:
        state = query.get("state", "open")
        labels = {label for label in query.get("labels", "").split(",") if label}
        found = [
            issue
            for issue in self.issues
            if state in ("all", issue["state"])
            and labels <= {label["name"] for label in issue["labels"]}
        ]
        return 200, sorted(found, key=lambda issue: -issue["number"])

    def _get_issue(self, query: dict, body: Any, number: str) -> tuple[int, Any]:
        found = [issue for issue in self.issues if issue["number"] == int(number)]
        return (200, found[0]) if found else (404, _not_found())

    def _update_issue(self, query: dict, body: Any, number: str) -> tuple[int, Any]:
        status, issue = self._get_issue(query, body, number)
        if status != 200:
            return status, issue
        for key in ("title", "body", "state", "state_reason"):
            if key in body:
                issue[key] = body[key]
        if "labels" in body:
            issue["labels"] = [_label(label) for label in body["labels"]]
        issue["closed_at"] = _now() if issue["state"] == "closed" else None
        issue["updated_at"] = _now()
        return 200, issue

    def _comment(self, query: dict, body: Any, number: str) -> tuple[int, Any]:
        status, issue = self._get_issue(query, body, number)
        if status != 200:
            return status, issue
        if not isinstance(body, dict) or not body.get("body"):
            return 422, {"message": "Validation Failed", "errors": [{"field": "body"}]}
        comment = {
            "id": next(self._ids),
            "issue_number": issue["number"],
            "body": body["body"],
            "user": BOT,
            "html_url": f"{issue['html_url']}#issuecomment-{len(self.comments) + 1}",
            "created_at": _now(),
        }
        self.comments.append(comment)
        issue["comments"] += 1
        return 201, comment

    def _create_pull(self, query: dict, body: Any) -> tuple[int, Any]:
        body = body if isinstance(body, dict) else {}
        missing = [key for key in ("title", "head", "base") if not body.get(key)]
        if missing:
            return 422, {"message": "Validation Failed", "errors": [{"field": missing[0]}]}
        if any(
            pull["head"]["ref"] == body["head"] and pull["state"] == "open" for pull in self.pulls
        ):
            message = f"A pull request already exists for {self.repository}:{body['head']}."
            return 422, {"message": "Validation Failed", "errors": [{"message": message}]}
        number = len(self.issues) + len(self.pulls) + 1
        pull = {
            "id": next(self._ids),
            "number": number,
            "title": body["title"],
            "body": body.get("body"),
            "state": "open",
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
            "user": BOT,
            "html_url": f"https://github.com/{self.repository}/pull/{number}",
            "created_at": _now(),
            "updated_at": _now(),
        }
        self.pulls.append(pull)
        return 201, pull

    def _list_pulls(self, query: dict, body: Any) -> tuple[int, Any]:
        state = query.get("state", "open")
        head = query.get("head", "").split(":")[-1]
        found = [
            pull
            for pull in self.pulls
            if state in ("all", pull["state"]) and head in ("", pull["head"]["ref"])
        ]
        return 200, sorted(found, key=lambda pull: -pull["number"])

    def _update_pull(self, query: dict, body: Any, number: str) -> tuple[int, Any]:
        found = [pull for pull in self.pulls if pull["number"] == int(number)]
        if not found:
            return 404, _not_found()
        for key in ("title", "body", "state"):
            if key in body:
                found[0][key] = body[key]
        found[0]["updated_at"] = _now()
        return 200, found[0]

    def _comments(self, query: dict, body: Any, number: str) -> tuple[int, Any]:
        found = [comment for comment in self.comments if comment["issue_number"] == int(number)]
        return 200, found


ROUTES = (
    ("GET", r"/environments", FakeGitHub._environments),
    ("GET", r"/environments/([^/]+)", FakeGitHub._environment),
    ("GET", r"/actions/runs/(\d+)", FakeGitHub._run),
    ("GET", r"/actions/runs/(\d+)/approvals", FakeGitHub._approvals),
    ("POST", r"/dispatches", FakeGitHub._dispatch),
    ("POST", r"/issues", FakeGitHub._create_issue),
    ("GET", r"/issues", FakeGitHub._list_issues),
    ("GET", r"/issues/(\d+)", FakeGitHub._get_issue),
    ("PATCH", r"/issues/(\d+)", FakeGitHub._update_issue),
    ("POST", r"/issues/(\d+)/comments", FakeGitHub._comment),
    ("GET", r"/issues/(\d+)/comments", FakeGitHub._comments),
    ("POST", r"/pulls", FakeGitHub._create_pull),
    ("GET", r"/pulls", FakeGitHub._list_pulls),
    ("PATCH", r"/pulls/(\d+)", FakeGitHub._update_pull),
)


def _handler(api: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                self._reply(400, {"message": "Problems parsing JSON"})
                return
            authorization = self.headers.get("Authorization") or ""
            api.requests.append(Request(self.command, parts.path, query, body, authorization))
            scheme, _, token = authorization.partition(" ")
            if not authorization:
                self._reply(401, {"message": "Requires authentication", "documentation_url": DOCS})
            elif scheme.lower() not in ("bearer", "token") or token != api.token:
                self._reply(401, {"message": "Bad credentials", "documentation_url": DOCS})
            else:
                self._reply(*api.handle(self.command, parts.path, query, body))

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def _reply(self, status: int, payload: Any) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: every request is in api.requests."""

    return Handler


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": zlib.crc32(login.encode()), "type": "User"}


def _label(label: Any) -> dict[str, Any]:
    name = label["name"] if isinstance(label, dict) else str(label)
    return {"name": name, "color": "ededed", "default": False}


def _environment_summary(environment: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "node_id", "name", "url", "html_url", "created_at", "updated_at")
    return {key: environment[key] for key in keys}


def _not_found() -> dict[str, str]:
    return {"message": "Not Found", "documentation_url": DOCS}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
