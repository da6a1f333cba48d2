"""The official prompt YAML's Jinja templates, each parsed and compiled once per process.

A template's variables are the rendered values of the keys they name (recursively), unless the
caller gives them. A key whose given value is only pasted in (a bare ``{{ NAME }}``, exactly
once: no filter, test, loop or macro touches it) is rendered once around a marker and split
there (:meth:`Templates.splice`), so a per-item value such as the parse turn's code template
costs two string joins instead of a render.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterable, Mapping, Optional, Set, Tuple

from ..errors import PromptsError

if TYPE_CHECKING:
    from jinja2 import Environment, Template, nodes


class Templates:
    """Renders keys of one YAML mapping of Jinja templates."""

    def __init__(self, sources: Mapping[str, Any]):
        self.sources = sources
        self._env: Optional["Environment"] = None
        # name -> (syntax tree, compiled template, names it uses)
        self._compiled: Dict[str, Tuple["nodes.Template", "Template", FrozenSet[str]]] = {}

    def _get(self, name: str) -> Tuple["nodes.Template", "Template", FrozenSet[str]]:
        if name not in self._compiled:
            from jinja2 import Environment, StrictUndefined, meta

            if self._env is None:
                self._env = Environment(undefined=StrictUndefined)
            tree = self._env.parse(str(self.sources[name]))
            refs = frozenset(meta.find_undeclared_variables(tree))
            self._compiled[name] = (tree, self._env.from_string(tree), refs)  # compiled from the tree: one parse
        return self._compiled[name]

    def render(self, root: str, given: Mapping[str, str]) -> str:
        """``root`` rendered: each variable it names is the rendered value of that key (recursively),
        unless ``given`` holds it (used verbatim)."""
        done: Dict[str, str] = {}

        def value(name: str, chain: Tuple[str, ...]) -> str:
            if name in given:
                return given[name]
            if name in done:
                return done[name]
            if name in chain:
                raise PromptsError(f"prompt template: circular reference {' -> '.join(chain + (name,))}")
            if name not in self.sources:
                raise PromptsError(f"prompt template: {chain[-1] if chain else 'root'} uses {name}, which it "
                                   "does not define")
            _, template, refs = self._get(name)
            done[name] = template.render({ref: value(ref, chain + (name,)) for ref in sorted(refs)})
            return done[name]

        return value(root, ())

    def splice(self, root: str, var: str) -> Optional[Tuple[str, str]]:
        """(before, after) such that ``root`` rendered with ``var`` = v is ``before + v + after`` for
        every v; None when the templates do more with ``var`` than paste it in once."""
        carriers = self._carriers(root, var)
        for name in self._reachable(root, var):
            if not _pasted_only(self._get(name)[0], carriers):
                return None
        mark = f"\x00{uuid.uuid4().hex}\x00"
        text = self.render(root, {var: mark})
        if text.count(mark) != 1:  # a loop or two outputs repeat it
            return None
        before, _, after = text.partition(mark)
        return before, after

    def _reachable(self, root: str, var: str) -> Set[str]:
        """The keys rendering ``root`` renders (``var`` is given, so it is not one)."""
        seen: Set[str] = set()
        todo = [root]
        while todo:
            name = todo.pop()
            if name in seen or name == var or name not in self.sources:
                continue
            seen.add(name)
            todo += self._get(name)[2]
        return seen

    def _carriers(self, root: str, var: str) -> Set[str]:
        """``var`` and every key whose rendered value holds it."""
        reachable = self._reachable(root, var)
        carriers = {var}
        while True:
            more = {n for n in reachable - carriers if self._get(n)[2] & carriers}
            if not more:
                return carriers
            carriers |= more

def _pasted_only(tree: "nodes.Template", names: Iterable[str]) -> bool:
    """Every use of ``names`` in ``tree`` is a bare output, under nothing but ``{% if %}`` blocks
    (whose tests do not use them: a test is not an output)."""
    from jinja2 import nodes

    wanted = set(names)

    def ok(node: "nodes.Node", plain: bool) -> bool:
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Name) and child.name in wanted:
                if not (plain and isinstance(node, nodes.Output)):
                    return False
            elif not ok(child, plain and isinstance(child, (nodes.Output, nodes.If))):
                return False
        return True

    return ok(tree, True)
