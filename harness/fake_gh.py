"""A fake `gh` (GitHub's CLI) for workflows run by harness.actions, talking to the fake API.

harness.actions puts it on PATH as `gh` when a job runs with `api=`. It reaches the API
at GITHUB_API_URL (the real gh would use github.com), authenticates with GH_TOKEN or
GITHUB_TOKEN (like gh, it refuses to run without one) and supports:

    gh issue create --repo R --title T (--body B | --body-file F) [--label L]...
    gh issue list   --repo R [--state open|closed|all] [--label L] [--json a,b] [--jq E]
    gh issue edit N --repo R [--title T] [--body B] [--add-label L] [--remove-label L]
    gh issue comment N --repo R (--body B | --body-file F)
    gh issue close N --repo R
    gh pr create --title T (--body B | --body-file F) --head BRANCH [--base BRANCH]
    gh pr edit (N | BRANCH) [--title T] [--body B | --body-file F]
    gh api <path> [-X METHOD] [-f k=v] [-F k=typed] [-H header] [--jq E]

The repository is --repo, else GH_REPO, else GITHUB_REPOSITORY. `--jq` runs the jq on
PATH. Anything else exits 1 naming what is not supported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any


class GhError(Exception):
    pass


def main(argv: list[str]) -> int:
    try:
        token = os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")
        if not token:
            raise GhError(
                "gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN "
                "environment variable. Example:\n  env:\n    GH_TOKEN: ${{ github.token }}"
            )
        if argv[:1] == ["api"]:
            return api_command(argv[1:], token)
        if argv[:1] == ["issue"] and len(argv) > 1:
            return issue_command(argv[1], argv[2:], token)
        if argv[:1] == ["pr"] and len(argv) > 1:
            return pr_command(argv[1], argv[2:], token)
        raise GhError(f"fake gh (harness/fake_gh.py): `gh {' '.join(argv[:2])}` is not supported")
    except GhError as error:
        print(error, file=sys.stderr)
        return 1


def parse(args: list[str], flags: dict[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """Options by their long name ({"-R": "--repo"} maps short names); the rest positional."""
    options: dict[str, list[str]] = {}
    positional = []
    index = 0
    while index < len(args):
        arg = args[index]
        name, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        name = flags.get(name, name)
        if name.startswith("-"):
            if name not in flags.values():
                raise GhError(f"fake gh: unknown flag {arg}")
            if inline:
                value = inline
            else:
                index += 1
                if index == len(args):
                    raise GhError(f"fake gh: flag needs an argument: {arg}")
                value = args[index]
            options.setdefault(name, []).append(value)
        else:
            positional.append(arg)
        index += 1
    return options, positional


def request(method: str, path: str, token: str, body: Any = None) -> Any:
    base = os.environ.get("GITHUB_API_URL", "").rstrip("/")
    if not base:
        raise GhError("fake gh: GITHUB_API_URL is not set (run the job with api=)")
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    url = f"{base}/{path.lstrip('/')}"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, headers=headers, method=method), timeout=30
        ) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read() or b"{}")
        details = [item["message"] for item in answer.get("errors", []) if "message" in item]
        message = "; ".join([answer.get("message", ""), *details])
        raise GhError(f"gh: {message} (HTTP {error.code})") from None
    return json.loads(raw) if raw else None


def repository(options: dict[str, list[str]]) -> str:
    repo = (options.get("--repo") or [""])[-1] or os.environ.get("GH_REPO", "")
    repo = repo or os.environ.get("GITHUB_REPOSITORY", "")
    if not repo:
        raise GhError("fake gh: no repository: pass --repo OWNER/REPO")
    return repo


def body_of(options: dict[str, list[str]]) -> str | None:
    if "--body-file" in options:
        path = options["--body-file"][-1]
        with open(path, encoding="utf-8") if path != "-" else sys.stdin as file:
            return file.read()
    return options["--body"][-1] if "--body" in options else None


ISSUE_FLAGS = {
    "-R": "--repo",
    "--repo": "--repo",
    "-t": "--title",
    "--title": "--title",
    "-b": "--body",
    "--body": "--body",
    "-F": "--body-file",
    "--body-file": "--body-file",
    "-l": "--label",
    "--label": "--label",
    "--add-label": "--add-label",
    "-H": "--head",
    "--head": "--head",
    "-B": "--base",
    "--base": "--base",
    "--remove-label": "--remove-label",
    "-s": "--state",
    "--state": "--state",
    "--json": "--json",
    "-q": "--jq",
    "--jq": "--jq",
    "-L": "--limit",
    "--limit": "--limit",
}


def issue_command(action: str, args: list[str], token: str) -> int:
    options, positional = parse(args, ISSUE_FLAGS)
    repo = repository(options)
    if action == "create":
        title = (options.get("--title") or [""])[-1]
        body = body_of(options)
        if not title or body is None:
            raise GhError("fake gh: `gh issue create` needs --title and --body (or --body-file)")
        payload = {"title": title, "body": body, "labels": options.get("--label", [])}
        print(request("POST", f"repos/{repo}/issues", token, payload)["html_url"])
        return 0
    if action == "list":
        state = (options.get("--state") or ["open"])[-1]
        labels = ",".join(options.get("--label", []))
        issues = request("GET", f"repos/{repo}/issues?state={state}&labels={labels}", token)
        issues = issues[: int((options.get("--limit") or ["30"])[-1])]
        if "--json" in options:
            fields = options["--json"][-1].split(",")
            output = json.dumps([{key: issue.get(key) for key in fields} for issue in issues])
            return emit(output, options)
        for issue in issues:
            labels = ", ".join(label["name"] for label in issue["labels"])
            print(f"{issue['number']}\t{issue['state'].upper()}\t{issue['title']}\t{labels}")
        return 0
    if action in ("edit", "comment", "close") and len(positional) == 1:
        number = positional[0].rsplit("/", 1)[-1].lstrip("#")
        path = f"repos/{repo}/issues/{number}"
        if action == "comment":
            body = body_of(options)
            if body is None:
                raise GhError("fake gh: `gh issue comment` needs --body (or --body-file)")
            print(request("POST", f"{path}/comments", token, {"body": body})["html_url"])
            return 0
        if action == "close":
            request("PATCH", path, token, {"state": "closed"})
            return 0
        issue = request("GET", path, token)
        change: dict[str, Any] = {}
        if "--title" in options:
            change["title"] = options["--title"][-1]
        body = body_of(options)
        if body is not None:
            change["body"] = body
        if "--add-label" in options or "--remove-label" in options:
            labels = [label["name"] for label in issue["labels"]]
            labels += [name for name in options.get("--add-label", []) if name not in labels]
            change["labels"] = [
                name for name in labels if name not in options.get("--remove-label", [])
            ]
        print(request("PATCH", path, token, change)["html_url"])
        return 0
    raise GhError(f"fake gh: `gh issue {action}` with {args} is not supported")


def pr_command(action: str, args: list[str], token: str) -> int:
    options, positional = parse(args, ISSUE_FLAGS)
    repo = repository(options)
    body = body_of(options)
    if action == "create":
        title = (options.get("--title") or [""])[-1]
        head = (options.get("--head") or [""])[-1]
        if not title or body is None or not head:
            raise GhError("fake gh: `gh pr create` needs --title, --body (or --body-file), --head")
        base = (options.get("--base") or [""])[-1]
        base = base or request("GET", f"repos/{repo}", token)["default_branch"]
        payload = {"title": title, "body": body, "head": head, "base": base}
        print(request("POST", f"repos/{repo}/pulls", token, payload)["html_url"])
        return 0
    if action == "edit" and len(positional) == 1:
        pulls = request("GET", f"repos/{repo}/pulls?state=open", token)
        wanted = positional[0].lstrip("#")
        found = [pull for pull in pulls if wanted in (str(pull["number"]), pull["head"]["ref"])]
        if not found:
            raise GhError(f'no pull requests found for branch "{wanted}"')
        change: dict[str, Any] = {"title": options["--title"][-1]} if "--title" in options else {}
        if body is not None:
            change["body"] = body
        number = found[0]["number"]
        print(request("PATCH", f"repos/{repo}/pulls/{number}", token, change)["html_url"])
        return 0
    raise GhError(f"fake gh: `gh pr {action}` with {args} is not supported")


API_FLAGS = {
    "-X": "--method",
    "--method": "--method",
    "-f": "--raw-field",
    "--raw-field": "--raw-field",
    "-F": "--field",
    "--field": "--field",
    "-H": "--header",
    "--header": "--header",
    "-q": "--jq",
    "--jq": "--jq",
    "--input": "--input",
}


def api_command(args: list[str], token: str) -> int:
    options, positional = parse(args, API_FLAGS)
    if len(positional) != 1:
        raise GhError("fake gh: `gh api` takes one path")
    path = positional[0].replace("{owner}/{repo}", os.environ.get("GITHUB_REPOSITORY", ""))
    fields: dict[str, Any] = {}
    for item in options.get("--raw-field", []):
        key, _, value = item.partition("=")
        fields[key] = value
    for item in options.get("--field", []):
        key, _, value = item.partition("=")
        fields[key] = typed(value)
    body: Any = fields or None
    if "--input" in options:
        with open(options["--input"][-1], encoding="utf-8") as file:
            body = json.load(file)
    method = (options.get("--method") or ["POST" if body is not None else "GET"])[-1].upper()
    result = request(method, path, token, body)
    return emit("" if result is None else json.dumps(result), options)


def typed(value: str) -> Any:
    """gh's -F: true, false, null and integers are JSON; @file reads a file."""
    if value in ("true", "false", "null"):
        return json.loads(value)
    if value.lstrip("-").isdigit():
        return int(value)
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as file:
            return file.read()
    return value


def emit(output: str, options: dict[str, list[str]]) -> int:
    if "--jq" not in options:
        if output:
            print(output)
        return 0
    if not output:
        return 0
    result = subprocess.run(
        ["jq", "-r", options["--jq"][-1]], input=output, capture_output=True, text=True
    )
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
