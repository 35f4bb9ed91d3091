"""We use python-socketio, engine.io and Streamlit through their public APIs only: a private
attribute of theirs can change in any release and break the dashboard without a warning."""
import ast
import inspect

import engineio
import socketio

from tests.conftest import ROOT

# The hooks python-socketio documents for pub/sub manager subclasses.
DOCUMENTED_HOOKS = {"_publish", "_listen"}
# Streamlit's public modules besides `streamlit` itself.
PUBLIC_STREAMLIT = {"streamlit.testing.v1", "streamlit.components.v1", "streamlit.components.v2"}


def sources():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if not any(p.startswith(".") or p == "node_modules" for p in parts):
            yield path, ast.parse(path.read_text(), str(path))


def own_names(trees) -> set[str]:
    """Every name our code defines: a `_x` with one of these names is ours to use."""
    names = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def library_private_names() -> set[str]:
    names = set()
    for module in (socketio, engineio):
        for cls in vars(module).values():
            if inspect.isclass(cls):
                names.update(n for n in dir(cls) if n.startswith("_") and not n.startswith("__"))
    return names - DOCUMENTED_HOOKS


def library_subclasses(tree):
    """Our classes that derive from a socketio/engineio class (by dotted name or imported name)."""
    imported = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] in ("socketio", "engineio") for a in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
                ast.unparse(b).split(".")[0] in ("socketio", "engineio") or ast.unparse(b) in imported
                for b in node.bases):
            yield node


def violations(path, tree, own, private):
    where = path.relative_to(ROOT)
    for cls in library_subclasses(tree):
        for node in cls.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in private:
                yield f"{where}:{node.lineno}: overrides the library's private {node.name}()"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if node.attr not in own or node.attr in private and not _is_self(node.value):
                yield f"{where}:{node.lineno}: reads or writes .{node.attr}"
        elif isinstance(node, ast.ImportFrom | ast.Import):
            modules = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for module in modules:
                if module and module.startswith("streamlit.") and module not in PUBLIC_STREAMLIT:
                    yield f"{where}:{node.lineno}: imports Streamlit's internal {module}"
                if module and module.split(".")[0] in ("socketio", "engineio") and "." in module:
                    yield f"{where}:{node.lineno}: imports the internal module {module}"


def _is_self(node) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def test_no_private_attribute_of_socketio_engineio_or_streamlit_anywhere():
    trees = list(sources())
    own, private = own_names(trees), library_private_names()
    found = [v for path, tree in trees for v in violations(path, tree, own, private)]
    assert not found, "\n".join(found)


def test_the_check_catches_what_it_looks_for():
    tree = ast.parse("class M(socketio.AsyncRedisManager):\n"
                     "    async def _handle_emit(self, message): pass\n"
                     "    def go(self): self._redis_connect()\n"
                     "from streamlit.runtime.pages_manager import PagesManager\n")
    found = list(violations(ROOT / "x.py", tree, own_names([]), library_private_names()))
    assert len(found) == 3, found
