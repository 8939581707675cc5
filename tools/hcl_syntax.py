"""HCL's native syntax, read: a tokenizer and a block/attribute parser (no pattern matching on
the text). `make hcl` repairs CDKTF's HCL with it (tools/hcl.py) and tools/locks.py reads the
provider lock files with it; its own module, so that neither needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class HclError(ValueError):
    pass


# --- tokens -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "number", "string", "heredoc", "punct", "newline", "comment"
    start: int
    end: int
    text: str


_PUNCT = ("...", "=>", "==", "!=", "<=", ">=", "&&", "||", "::")


def tokenize(text: str) -> list[Token]:
    """HCL native syntax as tokens (hclsyntax spec): comments are kept, so a caller can drop
    the ones in front of what it rewrites."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
        elif c == "\n":
            tokens.append(Token("newline", i, i + 1, "\n"))
            i += 1
        elif c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            tokens.append(Token("comment", i, end, text[i:end]))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise HclError(f"unterminated comment at {i}")
            tokens.append(Token("comment", i, end + 2, text[i : end + 2]))
            i = end + 2
        elif c == '"':
            end = _string_end(text, i)
            tokens.append(Token("string", i, end, text[i:end]))
            i = end
        elif text.startswith("<<", i) and i + 2 < n and (text[i + 2] == "-" or text[i + 2].isalpha()):
            end = _heredoc_end(text, i)
            tokens.append(Token("heredoc", i, end, text[i:end]))
            i = end
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            tokens.append(Token("ident", i, j, text[i:j]))
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "." and j + 1 < n and text[j + 1].isdigit()):
                j += 1
            tokens.append(Token("number", i, j, text[i:j]))
            i = j
        else:
            punct = next((p for p in _PUNCT if text.startswith(p, i)), c)
            tokens.append(Token("punct", i, i + len(punct), punct))
            i += len(punct)
    return tokens


def _string_end(text: str, start: int) -> int:
    """The offset after the quoted template that starts at `start`, interpolations included."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "\n":
            break
        elif text.startswith(("$${", "%%{"), i):
            i += 3
        elif text.startswith(("${", "%{"), i):
            i = _interpolation_end(text, i + 2)
        else:
            i += 1
    raise HclError(f"unterminated string at {start}")


def _interpolation_end(text: str, i: int) -> int:
    """The offset after the `}` closing an interpolation whose expression starts at `i`."""
    depth = 1
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _string_end(text, i)
            continue
        if text.startswith("<<", i) and i + 2 < len(text) and (text[i + 2] == "-" or text[i + 2].isalpha()):
            i = _heredoc_end(text, i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise HclError("unterminated interpolation")


def _heredoc_end(text: str, start: int) -> int:
    line_end = text.find("\n", start)
    if line_end < 0:
        raise HclError(f"heredoc without a body at {start}")
    marker = text[start + 2 : line_end].lstrip("-").strip()
    i = line_end + 1
    while i <= len(text):
        end = text.find("\n", i)
        end = len(text) if end < 0 else end
        if text[i:end].strip() == marker:
            return end
        if end == len(text):
            break
        i = end + 1
    raise HclError(f"heredoc {marker} not closed")


# --- structure ----------------------------------------------------------------------------
@dataclass
class Attribute:
    name: str
    start: int  # of the first comment line right before it, else of its name
    value: tuple[int, int]  # token indexes [first, last) of the expression
    end: int  # offset after the expression


@dataclass
class Block:
    type: str
    labels: list[str]
    start: int
    body: list[Attribute | Block] = field(default_factory=list)
    end: int = 0


def _skip(tokens: list[Token], i: int, kinds: tuple[str, ...] = ("newline", "comment")) -> int:
    while i < len(tokens) and tokens[i].kind in kinds:
        i += 1
    return i


def expression_end(tokens: list[Token], i: int, stops: tuple[str, ...] = ()) -> int:
    """The token index after the expression starting at `i`: at a newline or one of `stops`
    outside brackets."""
    depth = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "punct" and token.text in "([{":
            depth += 1
        elif token.kind == "punct" and token.text in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and (token.kind == "newline" or token.kind == "punct" and token.text in stops):
            return i
        i += 1
    return i


def parse_body(tokens: list[Token], i: int = 0, *, closing: bool = False) -> tuple[list[Attribute | Block], int]:
    items: list[Attribute | Block] = []
    lead: int | None = None
    while True:
        if i < len(tokens) and tokens[i].kind == "comment":
            lead = tokens[i].start if lead is None else lead
            i += 1
            continue
        if i < len(tokens) and tokens[i].kind == "newline":
            i += 1  # comments and blank lines before an item belong to it (CDKTF's warnings do)
            continue
        if i >= len(tokens):
            if closing:
                raise HclError("a block is not closed")
            return items, i
        token = tokens[i]
        if token.kind == "punct" and token.text == "}":
            if not closing:
                raise HclError(f"unexpected '}}' at {token.start}")
            return items, i
        if token.kind != "ident":
            raise HclError(f"expected a name at {token.start}, found {token.text!r}")
        start = token.start if lead is None else lead
        lead = None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.kind == "punct" and nxt.text == "=":
            first = i + 2
            last = expression_end(tokens, first)
            items.append(Attribute(token.text, start, (first, last), tokens[last - 1].end))
            i = last
            continue
        labels: list[str] = []
        j = i + 1
        while j < len(tokens) and tokens[j].kind in ("ident", "string"):
            labels.append(tokens[j].text.strip('"'))
            j += 1
        if j >= len(tokens) or tokens[j].text != "{":
            raise HclError(f"expected '{{' after block {token.text} at {token.start}")
        body, k = parse_body(tokens, j + 1, closing=True)
        items.append(Block(token.text, labels, start, body, tokens[k].end))
        i = k + 1


def parse(text: str) -> tuple[list[Token], list[Attribute | Block]]:
    tokens = tokenize(text)
    body, _ = parse_body(tokens)
    return tokens, body


def elements(tokens: list[Token], first: int, last: int, opening: str) -> list[tuple[int, int]]:
    """The element spans of the tuple (`[`) or object (`{`) constructor tokens[first:last]."""
    closing = {"[": "]", "{": "}"}[opening]
    if tokens[first].text != opening or tokens[last - 1].text != closing:
        raise HclError(f"expected {opening}...{closing} at {tokens[first].start}")
    spans = []
    i = first + 1
    while True:
        i = _skip(tokens, i)
        if i >= last - 1:
            return spans
        end = expression_end(tokens, i, stops=(",",))
        spans.append((i, end))
        i = end + 1 if tokens[end].text == "," else end


def object_items(tokens: list[Token], first: int, last: int) -> list[tuple[str, tuple[int, int]]]:
    items = []
    for start, end in elements(tokens, first, last, "{"):
        key = tokens[start]
        if tokens[start + 1].text not in ("=", ":") or key.kind not in ("ident", "string"):
            raise HclError(f"expected 'key = value' at {key.start}")
        items.append((json.loads(key.text) if key.kind == "string" else key.text, (start + 2, end)))
    return items
