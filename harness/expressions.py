"""GitHub Actions expressions (`${{ }}` and `if:`), evaluated as GitHub evaluates them.

Faithful: literals (`null`, `true`, `false`, numbers, 'strings' with '' for a quote),
property access (`a.b`, `a['b']`, the object filter `a.*.b`), case-insensitive
property names, the operators `!`, `<`, `<=`, `>`, `>=`, `==`, `!=`, `&&`, `||` (`&&`
and `||` return an operand, as in JavaScript), loose comparison (different types
are compared as numbers, strings case-insensitively), the functions `contains`,
`startsWith`, `endsWith`, `format`, `join`, `toJSON`, `fromJSON`, `hashFiles` and the
status functions `success()`, `failure()`, `always()`, `cancelled()`. A missing
property is `null`; an unknown context or function is an error, as on GitHub.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>0x[0-9a-fA-F]+|-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\],.*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
STATUS_CALL = re.compile(r"\b(?:success|failure|always|cancelled)\s*\(", re.IGNORECASE)


class ExpressionError(Exception):
    """An expression GitHub would refuse: the message names the expression and the problem."""


class _Filtered(list):
    """The result of an object filter (`a.*`): a property of it is taken from each item."""


def evaluate(expression: str, contexts: Mapping[str, Any], status: str = "success") -> Any:
    """The value of one expression (without `${{ }}`). `status` is the job's status so far,
    for `success()` (success), `failure()` (failure) and `cancelled()` (cancelled)."""
    parser = _Parser(expression)
    tree = parser.parse()
    return _Evaluator(expression, contexts, status).run(tree)


def interpolate(text: str, contexts: Mapping[str, Any], status: str = "success") -> str:
    """`text` with each `${{ expression }}` replaced by its value as a string."""
    parts = []
    position = 0
    while (start := text.find("${{", position)) != -1:
        end = _closing(text, start + 3)
        parts.append(text[position:start])
        parts.append(to_string(evaluate(text[start + 3 : end], contexts, status)))
        position = end + 2
    parts.append(text[position:])
    return "".join(parts)


def interpolate_value(value: Any, contexts: Mapping[str, Any], status: str = "success") -> Any:
    """A YAML value with its expressions evaluated: a string that is one whole `${{ }}`
    keeps the expression's type; other strings are interpolated; other values stay."""
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if stripped.startswith("${{") and _closing(stripped, 3) == len(stripped) - 2:
        return evaluate(stripped[3:-2], contexts, status)
    return interpolate(value, contexts, status)


def condition(value: Any, contexts: Mapping[str, Any], status: str) -> bool:
    """Whether an `if:` holds. Without a status function it means `success() && (...)`;
    with no `if:` at all, `success()`."""
    if value is None or value == "":
        return status == "success"
    text = str(value).strip().lower() if isinstance(value, bool) else str(value).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2].strip()
    _Parser(text).parse()  # a syntax error names the condition as written
    if not STATUS_CALL.search(text):
        text = f"success() && ({text})"
    return truthy(evaluate(text, contexts, status))


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "") or isinstance(value, (list, dict))


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def _closing(text: str, start: int) -> int:
    """The index of the `}}` that closes an expression starting at `start` (quotes skipped)."""
    quoted = False
    for index in range(start, len(text) - 1):
        if text[index] == "'":
            quoted = not quoted
        elif not quoted and text.startswith("}}", index):
            return index
    raise ExpressionError(f"The expression '${{{{{text[start:]}' has no closing '}}}}'")


class _Parser:
    """Recursive descent over the tokens, lowest precedence first: || && == != < <= > >= ! ."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = self._tokenize(expression)
        self.position = 0

    def _tokenize(self, expression: str) -> list[tuple[str, str]]:
        tokens = []
        position = 0
        while position < len(expression):
            if expression[position:].strip() == "":
                break
            match = TOKEN.match(expression, position)
            if not match:
                raise self.error(f"unexpected symbol '{expression[position:].strip()[:10]}'")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens

    def error(self, problem: str) -> ExpressionError:
        return ExpressionError(f"Invalid expression '{self.expression.strip()}': {problem}")

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if value is not None and token[1] != value:
            raise self.error(f"expected '{value}', found '{token[1] or 'the end'}'")
        self.position += 1
        return token

    def parse(self) -> tuple:
        if not self.tokens:
            raise self.error("it is empty")
        tree = self.binary(0)
        if self.peek()[0] != "end":
            raise self.error(f"unexpected '{self.peek()[1]}'")
        return tree

    LEVELS = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="))

    def binary(self, level: int) -> tuple:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            operator = self.take()[1]
            left = ("op", operator, left, self.binary(level + 1))
        return left

    def unary(self) -> tuple:
        if self.peek() == ("op", "!"):
            self.take()
            return ("not", self.unary())
        return self.postfix(self.primary())

    def primary(self) -> tuple:
        kind, value = self.take()
        if kind == "string":
            return ("literal", value[1:-1].replace("''", "'"))
        if kind == "number":
            number = int(value, 16) if value.lower().startswith("0x") else float(value)
            return ("literal", number)
        if (kind, value) == ("op", "("):
            inner = self.binary(0)
            self.take(")")
            return inner
        if kind == "name":
            literals = {"true": True, "false": False, "null": None}
            if value in literals:
                return ("literal", literals[value])
            if self.peek() == ("op", "("):
                return self.call(value)
            return ("context", value)
        raise self.error(f"unexpected '{value or 'end of expression'}'")

    def call(self, name: str) -> tuple:
        if name.lower() not in (*FUNCTIONS, "hashfiles", *STATUS_FUNCTIONS):
            raise self.error(f"Unrecognized function: '{name}'")
        self.take("(")
        arguments = []
        while self.peek() != ("op", ")"):
            arguments.append(self.binary(0))
            if self.peek() != ("op", ")"):
                self.take(",")
        self.take(")")
        return ("call", name, arguments)

    def postfix(self, tree: tuple) -> tuple:
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                kind, value = self.take()
                if (kind, value) == ("op", "*"):
                    tree = ("filter", tree)
                elif kind == "name":
                    tree = ("property", tree, ("literal", value))
                else:
                    raise self.error(f"expected a property name after '.', found '{value}'")
            else:
                if self.peek() == ("op", "*"):
                    self.take()
                    tree = ("filter", tree)
                else:
                    tree = ("property", tree, self.binary(0))
                self.take("]")
        return tree


class _Evaluator:
    def __init__(self, expression: str, contexts: Mapping[str, Any], status: str) -> None:
        self.expression = expression
        self.contexts = contexts
        self.status = status

    def error(self, problem: str) -> ExpressionError:
        return ExpressionError(f"Invalid expression '{self.expression.strip()}': {problem}")

    def run(self, tree: tuple) -> Any:
        kind = tree[0]
        if kind == "literal":
            return tree[1]
        if kind == "context":
            found = _lookup(self.contexts, tree[1], missing=KeyError)
            if found is KeyError:
                raise self.error(f"Unrecognized named-value: '{tree[1]}'")
            return found
        if kind == "property":
            return self.property(self.run(tree[1]), self.run(tree[2]))
        if kind == "filter":
            value = self.run(tree[1])
            if isinstance(value, dict):
                return _Filtered(value.values())
            return _Filtered(value if isinstance(value, list) else [])
        if kind == "not":
            return not truthy(self.run(tree[1]))
        if kind == "call":
            return self.call(tree[1], tree[2])
        operator, left = tree[1], self.run(tree[2])
        if operator == "&&":
            return self.run(tree[3]) if truthy(left) else left
        if operator == "||":
            return left if truthy(left) else self.run(tree[3])
        return _compare(operator, left, self.run(tree[3]))

    def property(self, value: Any, key: Any) -> Any:
        if isinstance(value, _Filtered):
            return _Filtered(
                found for item in value if (found := self.property(item, key)) is not None
            )
        if isinstance(value, dict):
            return _lookup(value, to_string(key))
        if isinstance(value, list) and isinstance(key, (int, float)) and not isinstance(key, bool):
            index = int(key)
            return value[index] if 0 <= index < len(value) else None
        return None

    def call(self, name: str, argument_trees: list) -> Any:
        lowered = name.lower()
        if lowered in STATUS_FUNCTIONS:
            if argument_trees:
                raise self.error(f"{name}() takes no arguments")
            return {
                "success": self.status == "success",
                "failure": self.status == "failure",
                "cancelled": self.status == "cancelled",
                "always": True,
            }[lowered]
        if lowered not in FUNCTIONS and lowered != "hashfiles":
            raise self.error(f"Unrecognized function: '{name}'")
        arguments = [self.run(tree) for tree in argument_trees]
        if lowered == "hashfiles":
            workspace = _lookup(_lookup(self.contexts, "github") or {}, "workspace") or "."
            return _hash_files(Path(workspace), arguments)
        function = FUNCTIONS[lowered]
        try:
            return function(*arguments)
        except (TypeError, ValueError) as error:
            raise self.error(f"{name}(): {error}") from None


def _lookup(mapping: Mapping[str, Any], key: str, missing: Any = None) -> Any:
    """A property by name, ignoring case as GitHub does."""
    if key in mapping:
        return mapping[key]
    folded = key.casefold()
    for name, value in mapping.items():
        if str(name).casefold() == folded:
            return value
    return missing


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def _same_type(left: Any, right: Any) -> bool:
    def kind(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, (int, float)):
            return "number"
        return type(value).__name__

    return kind(left) == kind(right)


def _compare(operator: str, left: Any, right: Any) -> bool:
    if _same_type(left, right) and isinstance(left, str):
        left, right = left.casefold(), right.casefold()
    elif _same_type(left, right) and isinstance(left, (dict, list)):
        return (left is right) == (operator == "==") if operator in ("==", "!=") else False
    elif not _same_type(left, right) or isinstance(left, bool):
        left, right = _number(left), _number(right)
    if operator == "==":
        return left == right
    if operator == "!=":
        return left != right
    if any(isinstance(side, float) and math.isnan(side) for side in (left, right)):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
        operator
    ]


def _contains(search: Any, item: Any) -> bool:
    if isinstance(search, list):
        return any(_compare("==", element, item) for element in search)
    return to_string(item).casefold() in to_string(search).casefold()


def _format(template: str, *arguments: Any) -> str:
    def replace(match: re.Match) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        index = int(match.group(1))
        if index >= len(arguments):
            raise ValueError(f"the format string names {{{index}}} but has {len(arguments)} args")
        return to_string(arguments[index])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", replace, to_string(template))


def _join(items: Any, separator: Any = ",") -> str:
    if not isinstance(items, list):
        return to_string(items)
    return to_string(separator).join(to_string(item) for item in items)


def _from_json(text: Any) -> Any:
    try:
        return json.loads(to_string(text))
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error})") from None


def _hash_files(workspace: Path, patterns: list[Any]) -> str:
    """hashFiles: the SHA-256 over each matching file's SHA-256, '' when none matches."""
    files = sorted(
        {
            Path(found)
            for pattern in patterns
            for found in glob.glob(str(workspace / to_string(pattern)), recursive=True)
            if Path(found).is_file()
        }
    )
    if not files:
        return ""
    total = hashlib.sha256()
    for file in files:
        total.update(hashlib.sha256(file.read_bytes()).digest())
    return total.hexdigest()


FUNCTIONS = {
    "contains": _contains,
    "startswith": lambda text, prefix: (
        to_string(text).casefold().startswith(to_string(prefix).casefold())
    ),
    "endswith": lambda text, suffix: (
        to_string(text).casefold().endswith(to_string(suffix).casefold())
    ),
    "format": _format,
    "join": _join,
    "tojson": lambda value: json.dumps(value, indent=2),
    "fromjson": _from_json,
}
