"""Model text as safe HTML: Markdown (markdown-it-py) with LaTeX turned into MathML on the server
(latex2mathml; Chromium, Firefox and Safari draw MathML themselves), so the viewer ships no
script, no font and fetches nothing.

Everything here renders text a model wrote, which may be hostile: raw HTML is shown as text,
links and images are not made (an image would be fetched by the browser), and the MathML is
parsed and rebuilt from an allow-list of elements and attributes (latex2mathml passes
``\\text{<script>}``, ``\\href`` and ``\\style`` through as they are). TeX it cannot convert is
shown as its source.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any, Optional

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
# MathML Core's elements (and the few latex2mathml writes that browsers treat as rows).
ELEMENTS = frozenset("""math annotation maction menclose merror mfenced mfrac mi mmultiscripts mn mo mover mpadded
mphantom mprescripts mroot mrow ms mspace msqrt mstyle msub msubsup msup mtable mtd mtext mtr munder munderover
none semantics""".split())
ATTRIBUTES = frozenset("""display displaystyle mathvariant mathsize mathcolor stretchy fence separator lspace rspace
width height depth columnalign rowalign columnspacing rowspacing columnlines rowlines frame accent accentunder
movablelimits largeop symmetric minsize maxsize linethickness scriptlevel open close separators notation form
columnspan rowspan""".split())
_CACHE = 4096  # formulas repeat across items (the same problem in every epoch)


class _MarkdownMissing(RuntimeError):
    pass


def _bracket_rule(open_: str, close: str, token: str) -> Any:
    """An inline rule for TeX delimiters such as \\( \\) and \\[ \\] (before markdown's escapes)."""
    def rule(state: Any, silent: bool) -> bool:
        if not state.src.startswith(open_, state.pos):
            return False
        end = state.src.find(close, state.pos + len(open_))
        if end < 0:
            return False
        if not silent:
            tok = state.push(token, "math", 0)
            tok.content = state.src[state.pos + len(open_):end]
            tok.markup = open_
        state.pos = end + len(close)
        return True
    return rule


@lru_cache(maxsize=1)
def _parser() -> Any:
    try:
        from markdown_it import MarkdownIt
        from mdit_py_plugins.dollarmath import dollarmath_plugin
    except ImportError as exc:  # both are dependencies of the package; a broken install says so
        raise _MarkdownMissing(str(exc)) from exc
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    # $x$ and $$x$$ (not "$5 and $6"), then \(x\) and \[x\], as models write them
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    md.inline.ruler.before("escape", "math_paren", _bracket_rule("\\(", "\\)", "math_inline"))
    md.inline.ruler.before("escape", "math_bracket", _bracket_rule("\\[", "\\]", "math_inline_double"))
    md.disable(["image", "link", "autolink"])  # nothing for the browser to fetch or follow

    def inline(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return tex(tokens[idx].content, display=False)

    def display(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:  # inside a paragraph
        return f'<span class="math-block">{tex(tokens[idx].content, display=True)}</span>'

    def block(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return f'<div class="math-block">{tex(tokens[idx].content, display=True)}</div>\n'

    md.add_render_rule("math_inline", inline)
    md.add_render_rule("math_inline_double", display)
    for name in ("math_block", "math_block_label"):
        md.add_render_rule(name, block)
    return md


def markdown(text: Optional[str]) -> str:
    """Markdown with LaTeX, as safe HTML."""
    if not text:
        return ""
    try:
        return _parser().render(text)
    except _MarkdownMissing:
        return f"<pre class=\"text\">{html.escape(text)}</pre>"


def _clean(node: ET.Element) -> Optional[ET.Element]:
    """A copy of ``node`` with only allowed elements and attributes (the text is kept, escaped)."""
    name = node.tag.rsplit("}", 1)[-1]
    if name not in ELEMENTS:
        return None
    out = ET.Element(name, {k: v for k, v in node.attrib.items() if k in ATTRIBUTES and "(" not in v})
    out.text = node.text
    for child in node:
        kept = _clean(child)
        if kept is None:  # a disallowed element: its text stays, as text
            text = "".join(child.itertext()) + (child.tail or "")
            if len(out):
                out[-1].tail = (out[-1].tail or "") + text
            else:
                out.text = (out.text or "") + text
            continue
        kept.tail = child.tail
        out.append(kept)
    return out


@lru_cache(maxsize=_CACHE)
def tex(source: str, display: bool = False) -> str:
    """One formula as sanitised MathML; the TeX source (escaped) when it cannot be converted."""
    fallback = f'<code class="tex" title="TeX not converted">{html.escape(source)}</code>'
    try:
        from latex2mathml.converter import convert

        tree = ET.fromstring(convert(source, display="block" if display else "inline"))
    except Exception:  # latex2mathml raises many kinds on malformed TeX; its output may not parse either
        return fallback
    clean = _clean(tree)
    if clean is None:
        return fallback
    clean.set("xmlns", MATHML_NS)
    clean.set("display", "block" if display else "inline")
    return ET.tostring(clean, encoding="unicode", short_empty_elements=False)
