"""The API reference (``docs/api.md``), generated from the docstrings of the public API.

Regenerate it after changing a public name, a signature or a docstring: ``python -m portkit._apiref docs/api.md``.
``tests/unit/test_api_reference.py`` fails when the file and the code disagree, and when a public name has
no docstring.

The public API is what ``__all__`` lists in ``portkit`` and in the modules users import (:data:`MODULES`).
Functions and classes carry their docstrings; a constant or type alias is documented by a ``#:`` comment
right above its assignment or by a string right below it (the convention Sphinx reads), found in the
module that defines it.
"""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import inspect
import re
import sys
import typing
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

__all__ = ["MODULES", "Entry", "entries", "missing_docstrings", "reference_markdown"]

#: The modules whose ``__all__`` is public API, in the order the reference shows them.
MODULES: tuple[str, ...] = (
    "portkit",
    "portkit.testing",
    "portkit.testing.images",
    "portkit.volumes",
    "portkit.policy",
    "portkit.gitops",
    "portkit.observe",
    "portkit.recording",
    "portkit.profiles",
    "portkit.fleet",
)

_SECTION = re.compile(r"^(Args|Arguments|Attributes|Parameters|Raises|Returns|Yields|Example|Examples|Note|Notes):\s*$")
_ITEM = re.compile(r"^(\*{0,2}[\w.]+)(?: \(([^)]*)\))?:\s*(.*)$")
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const):`~?([^`]+)`")
_LITERAL = re.compile(r"(?<!`)``([^`]+)``(?!`)")
_QUALIFIED = re.compile(r"\bportkit(?:\.\w+)*\.(?=[A-Z])")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@attrs.frozen
class Entry:
    """One documented name.

    Attributes:
        module: the module whose ``__all__`` lists it.
        name: the name (``Class.method`` for a method or property; ``""`` for the module itself).
        obj: what it is.
        kind: ``module``, ``class``, ``exception``, ``function``, ``data``, ``method``, ``property`` or
            ``alias`` (a name documented under another module's entry).
        signature: the block shown under the heading (may be empty).
        doc: the docstring (cleaned), or None when there is none.
    """

    module: str
    name: str
    obj: object = attrs.field(repr=False)
    kind: str
    signature: str
    doc: str | None = attrs.field(repr=False)

    @property
    def qualname(self) -> str:
        """``portkit.volumes.VeleroMover.move``."""
        return f"{self.module}.{self.name}"


# -- signatures -------------------------------------------------------------------------------------------------
def _annotation(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return ""
    text = value if isinstance(value, str) else inspect.formatannotation(value)
    text = _QUALIFIED.sub("", text)  # portkit.volumes.base.VolumeProgress -> VolumeProgress
    return text.replace("typing.", "").replace("collections.abc.", "")


def _default(value: Any) -> str:
    if value is attrs.NOTHING:  # an attrs field with a factory
        return "<factory>"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if inspect.isfunction(value) or inspect.isbuiltin(value) or inspect.isclass(value):
        return value.__qualname__
    return _ADDRESS.sub("", repr(value))


def _parameters(sig: inspect.Signature, *, skip_first: bool) -> str:
    parts: list[str] = []
    star_shown = False
    params = list(sig.parameters.values())
    if skip_first and params:
        params = params[1:]
    for i, p in enumerate(params):
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not star_shown:
            parts.append("*")
            star_shown = True
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            star_shown = True
            text = f"*{p.name}"
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            text = f"**{p.name}"
        else:
            text = p.name
        note = _annotation(p.annotation)
        if note:
            text += f": {note}"
        if p.default is not inspect.Parameter.empty:
            text += f" = {_default(p.default)}" if note else f"={_default(p.default)}"
        parts.append(text)
        nxt = params[i + 1] if i + 1 < len(params) else None
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and (nxt is None or nxt.kind is not p.kind):
            parts.append("/")
    return ", ".join(parts)


def _signature(obj: Any, name: str, *, prefix: str = "def ", skip_first: bool = False) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return f"{prefix}{name}(...)"
    if inspect.isclass(obj) and attrs.has(obj):  # a field with a converter loses its annotation in __init__
        types = {f.alias or f.name: f.type for f in attrs.fields(obj)}
        sig = sig.replace(
            parameters=[
                p.replace(annotation=types[p.name])
                if p.annotation is inspect.Parameter.empty and types.get(p.name) is not None
                else p
                for p in sig.parameters.values()
            ]
        )
    returns = _annotation(sig.return_annotation)
    text = f"{prefix}{name}({_parameters(sig, skip_first=skip_first)})"
    return f"{text} -> {returns}" if returns and prefix != "class " else text


def _wrap(signature: str, width: int = 110) -> str:
    """One parameter a line when the signature is long (black's style)."""
    if len(signature) <= width:
        return signature
    head, _, rest = signature.partition("(")
    depth, current, params = 0, "", []
    body, _, tail = rest.rpartition(")")
    for ch in body:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            params.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        params.append(current.strip())
    return head + "(\n" + "".join(f"    {p},\n" for p in params) + ")" + tail


# -- documentation of data ---------------------------------------------------------------------------------------
@functools.cache
def _module_tree(module: str) -> ast.Module | None:
    mod = sys.modules.get(module) or importlib.import_module(module)
    path = getattr(mod, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    return ast.parse(Path(path).read_text(encoding="utf-8"))


def _source_lines(module: str) -> list[str]:
    mod = sys.modules[module]
    return Path(str(mod.__file__)).read_text(encoding="utf-8").splitlines()


def _data_doc(module: str, name: str, seen: frozenset[str] = frozenset()) -> str | None:
    """The ``#:`` comment above ``name = ...`` or the string below it, in ``module`` or where it imports it from."""
    tree = _module_tree(module)
    if tree is None or module in seen:
        return None
    lines = _source_lines(module)
    for body in _bodies(tree.body):
        doc = _assignment_doc(body, lines, name)
        if doc is not None:
            return doc
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and any(a.name == name for a in node.names):
            return _data_doc(node.module, name, seen | {module})
    return None


def _bodies(body: list[ast.stmt]) -> Iterator[list[ast.stmt]]:
    """The module's statements, and those of its top-level ``try`` / ``if`` blocks."""
    yield body
    for node in body:
        if isinstance(node, ast.Try):
            yield from _bodies(node.body)
        elif isinstance(node, ast.If):
            yield from _bodies(node.body)
            yield from _bodies(node.orelse)


def _assignment_doc(body: list[ast.stmt], lines: list[str], name: str) -> str | None:
    for i, node in enumerate(body):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        following = body[i + 1] if i + 1 < len(body) else None
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            return inspect.cleandoc(following.value.value)
        comments: list[str] = []
        row = node.lineno - 2
        while row >= 0 and lines[row].lstrip().startswith("#:"):
            comments.insert(0, lines[row].lstrip()[2:].strip())
            row -= 1
        return " ".join(comments) or None
    return None


def _plain(value: Any) -> bool:
    if isinstance(value, tuple | frozenset):
        return all(_plain(v) for v in value)
    return isinstance(value, str | int | float | bool) or value is None


def _type_text(value: Any) -> str:
    """``tuple[MetricSpec, ...]``, ``dict[str, str]``: the type of a constant, with its items' when they agree."""
    kind = type(value).__name__
    if isinstance(value, tuple | list | frozenset | set) and value:
        items = {type(v).__name__ for v in value}
        if len(items) == 1:
            return f"{kind}[{items.pop()}, ...]" if isinstance(value, tuple) else f"{kind}[{items.pop()}]"
    if isinstance(value, dict) and value:
        keys, values = {type(k).__name__ for k in value}, {type(v).__name__ for v in value.values()}
        if len(keys) == 1 and len(values) == 1:
            return f"{kind}[{keys.pop()}, {values.pop()}]"
    return kind


def _short_value(value: Any) -> str:
    """The value of a constant when it is plain data and short, else ``""`` (then its type is shown)."""
    text = _default(value) if _plain(value) else ""
    return text if len(text) <= 100 else ""


# -- what is documented ---------------------------------------------------------------------------------------
def _own_members(cls: type) -> Iterator[tuple[str, Any]]:
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property | classmethod | staticmethod) or inspect.isfunction(member):
            yield name, member


def _member_entry(module: str, cls: type, name: str, member: Any) -> Entry:
    qual = f"{cls.__name__}.{name}"
    if isinstance(member, property):
        fget = member.fget
        returns = _annotation(inspect.signature(fget).return_annotation) if fget else ""
        signature = f"property {name}" + (f": {returns}" if returns else "")
        return Entry(module, qual, member, "property", signature, inspect.getdoc(member))
    if isinstance(member, classmethod):
        fn = member.__func__
        sig = _signature(fn, name, skip_first=True)
        return Entry(module, qual, fn, "method", f"@classmethod\n{sig}", _method_doc(cls, name, fn))
    if isinstance(member, staticmethod):
        fn = member.__func__
        return Entry(module, qual, fn, "method", f"@staticmethod\n{_signature(fn, name)}", _method_doc(cls, name, fn))
    signature = _signature(member, name, skip_first=True)
    return Entry(module, qual, member, "method", signature, _method_doc(cls, name, member))


def _method_doc(cls: type, name: str, fn: Any) -> str | None:
    """The method's docstring, or the one of the method it overrides (a documented protocol)."""
    if fn.__doc__:
        return inspect.cleandoc(fn.__doc__)
    for base in cls.__mro__[1:]:
        inherited = vars(base).get(name)
        if inherited is not None and getattr(inherited, "__doc__", None):
            return inspect.cleandoc(inherited.__doc__)
    return None


def _class_entries(module: str, name: str, cls: type) -> list[Entry]:
    own_doc = cls.__dict__.get("__doc__")
    bases = [b for b in cls.__bases__ if b is not object]
    is_error = issubclass(cls, BaseException)
    kind = "exception" if is_error else "class"
    head = f"class {name}" + (f"({', '.join(b.__name__ for b in bases)})" if bases else "")
    if is_error or getattr(cls, "_is_protocol", False):
        signature = head
    else:
        init_sig = _signature(cls, name, prefix="class ")
        signature = init_sig if not bases else head + init_sig[len(f"class {name}") :]
    out = [Entry(module, name, cls, kind, signature, inspect.cleandoc(own_doc) if own_doc else None)]
    if not is_error:
        out += [_member_entry(module, cls, n, m) for n, m in _own_members(cls)]
    return out


def entries(modules: Sequence[str] = MODULES) -> list[Entry]:
    """Every documented name of ``modules`` (their ``__all__``), in order: module, then its names as listed.

    A class or function that two modules export (``portkit.PolicyResult`` is ``portkit.policy.PolicyResult``)
    is documented where it is first listed; the later listing is an entry of kind ``alias``.
    """
    out: list[Entry] = []
    first: dict[int, str] = {}
    for module in modules:
        mod = importlib.import_module(module)
        out.append(Entry(module, "", mod, "module", "", inspect.cleandoc(mod.__doc__) if mod.__doc__ else None))
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                link = f"The module [`{obj.__name__}`](#{_module_anchor(obj.__name__)})."
                out.append(Entry(module, name, obj, "alias", "", link))
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                where = first.setdefault(id(obj), f"{module}.{name}")
                if where != f"{module}.{name}":
                    out.append(Entry(module, name, obj, "alias", "", f"The same as [`{where}`](#{_anchor(where)})."))
                    continue
            if inspect.isclass(obj):
                out += _class_entries(module, name, obj)
            elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
                doc = inspect.cleandoc(obj.__doc__) if obj.__doc__ else None
                out.append(Entry(module, name, obj, "function", _signature(obj, name), doc))
            else:
                value = "" if name.startswith("__") else _short_value(obj)  # __version__: what is installed
                signature = f"{name} = {value}" if value else f"{name}: {_type_text(obj)}"
                if not value and typing.get_origin(obj) is not None:
                    signature = f"{name} = {_annotation(obj)}"  # a type alias
                out.append(Entry(module, name, obj, "data", signature, _data_doc(module, name)))
    return out


def missing_docstrings(found: Sequence[Entry] | None = None) -> list[str]:
    """The public names (and public methods and properties of public classes) without a docstring."""
    return [e.qualname.rstrip(".") for e in (entries() if found is None else found) if not (e.doc or "").strip()]


# -- Markdown -----------------------------------------------------------------------------------------------------
def _anchor(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation but ``-`` and ``_`` dropped, spaces as ``-``."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _module_anchor(module: str) -> str:
    return _anchor(f"Module {module}")


def _doc_markdown(doc: str) -> list[str]:
    """A docstring as Markdown: Google-style sections as lists, doctests and ``::`` blocks fenced."""
    lines = doc.splitlines()
    out: list[str] = []
    i = 0
    fenced = False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append(line.strip())
            i += 1
            continue
        if fenced:
            out.append(line)
            i += 1
            continue
        if line.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["```pycon", *block, "```"]
            continue
        section = _SECTION.match(line)
        if section:
            i = _section(lines, i + 1, section.group(1), out)
            continue
        if line.rstrip().endswith("::") and i + 1 < len(lines):
            out.append(_inline(line.rstrip()[:-1]))
            i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            while block and not block[0].strip():
                block.pop(0)
            out += ["```", *inspect.cleandoc("\n".join(block)).splitlines(), "```", ""]
            continue
        indented = line.startswith("    ") and not line.lstrip().startswith("-")
        out.append(_inline(line.strip() if indented else line))  # not a Markdown code block
        i += 1
    return out


def _inline(text: str) -> str:
    """reST roles and ````literals```` as Markdown code spans."""
    return _LITERAL.sub(lambda m: f"`{m.group(1)}`", _ROLE.sub(lambda m: f"`{m.group(1)}`", text))


def _section(lines: list[str], i: int, title: str, out: list[str]) -> int:
    """Render the indented body of a Google-style section starting at ``lines[i]``; returns the next line."""
    body: list[str] = []
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
        body.append(lines[i])
        i += 1
    while body and not body[-1].strip():
        body.pop()
    text = inspect.cleandoc("\n".join(body)).splitlines() if body else []
    out += [f"**{title}**", ""]
    if title in ("Args", "Arguments", "Attributes", "Parameters", "Raises"):
        items: list[str] = []
        for row in text:
            match = _ITEM.match(row) if not row.startswith((" ", "\t")) else None
            if match:
                name, kind, desc = match.groups()
                items.append(f"- `{name}`" + (f" ({kind})" if kind else "") + (f": {desc}" if desc else ""))
            elif items:
                items[-1] += " " + row.strip()
            elif row.strip():
                items.append(row.strip())
        out += [_inline(item) for item in items]
    elif text and text[0].startswith(">>>"):
        out += ["```pycon", *text, "```"]
    else:
        out += [_inline(" ".join(row.strip() for row in text))]
    out.append("")
    return i


def _heading(entry: Entry) -> str:
    level = "####" if entry.kind in ("method", "property") else "###"
    return f"{level} {entry.qualname}"


def reference_markdown(found: Sequence[Entry] | None = None) -> str:
    """The API reference as Markdown."""
    found = entries() if found is None else found
    lines = [
        "# portkit API reference",
        "",
        "Generated from the docstrings by `python -m portkit._apiref docs/api.md`; do not edit by hand "
        "(`tests/unit/test_api_reference.py` fails when this file and the code disagree). The public API is what "
        "`__all__` lists in the modules below; everything else may change without notice. The design's promise "
        "for the central calls is `docs/design-contract.md`; the command line is `docs/cli.md`.",
        "",
        "## Modules",
        "",
    ]
    lines += [f"- [`{m}`](#{_module_anchor(m)})" for m in dict.fromkeys(e.module for e in found)]
    lines.append("")
    for entry in found:
        if entry.kind == "module":
            lines += [f"## Module {entry.module}", ""]
            if entry.doc:
                lines += [*_doc_markdown(entry.doc), ""]
            names = [e for e in found if e.module == entry.module and e.kind not in ("module", "method", "property")]
            if names:
                links = ", ".join(f"[`{e.name}`](#{_anchor(e.qualname)})" for e in names)
                lines += [f"Public names: {links}.", ""]
            continue
        lines += [_heading(entry), ""]
        if entry.signature:
            lines += ["```python", _wrap(entry.signature), "```", ""]
        if entry.doc:
            lines += [*_doc_markdown(entry.doc), ""]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip() + "\n"


def main(argv: Sequence[str] | None = None, write: Callable[[str], object] = sys.stdout.write) -> int:
    """Write the reference to the file named (or stdout)."""
    args = list(sys.argv[1:] if argv is None else argv)
    text = reference_markdown()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
