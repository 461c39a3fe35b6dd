"""Small XML helpers: escaping for streamed output and a parser that refuses entities."""

from __future__ import annotations

import re

from lxml import etree

from ..core.issues import InputError

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"

_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_blank_text=False,
)
# Characters XML 1.0 forbids; a cell value holding one would make the file unreadable.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse_part(data: bytes, part: str) -> etree._Element:
    """Parse a package part, refusing DTDs and entities (XML bombs, external fetches)."""
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise InputError(
            f"The workbook part {part} declares XML entities (a known attack, 'XML bomb'); "
            "the file is refused."
        )
    try:
        return etree.fromstring(data, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"The workbook part {part} is damaged ({exc}).") from exc


def serialise(root: etree._Element) -> bytes:
    """Serialise a part with the standalone XML declaration Excel writes."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def escape_text(text: str) -> str:
    """Escape text for element content, dropping characters XML cannot hold."""
    text = XML_ILLEGAL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# In cell text (and table column names) Excel reads "_xHHHH_" as the character HHHH; a
# literal "_x0041_" is written with its underscore escaped, "_x005F_x0041_".
_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def literal_x(text: str) -> str:
    """``text`` with every ``_xHHHH_`` escaped, so that Excel reads it as written."""
    return _ESCAPE_LIKE.sub(r"_x005F_\1", text) if "_x" in text else text


def escape_cell_text(text: str) -> str:
    """:func:`escape_text` for cell text: also keeps ``_xHHHH_`` literally as written."""
    return escape_text(literal_x(text))


# Between the texts escaped at once: a private-use character, unchanged by escaping.
_APART = "\ue000"


def escape_cell_texts(texts: list[str]) -> list[str]:
    """:func:`escape_cell_text` of each of ``texts``, escaped as one text (a few passes
    over all of them instead of a few per text) unless one holds the separator."""
    joined = _APART.join(texts)
    if len(texts) < 2 or joined.count(_APART) != len(texts) - 1:
        return [escape_cell_text(text) for text in texts]
    # No escape spans two texts: the separator is no "_xHHHH_" character nor escaped.
    return escape_cell_text(joined).split(_APART)


def escape_attr(text: str) -> str:
    """Escape text for a double-quoted attribute value."""
    return escape_text(text).replace('"', "&quot;")


def inline_string_cell(ref: str, text: str, style: int) -> str:
    """A cell holding ``text`` as an inline string: always text, never a formula. An empty
    text is a blank cell (keeping its style), as Excel stores one."""
    escaped = escape_cell_text(text)
    space = ' xml:space="preserve"' if escaped != escaped.strip() or "\n" in escaped else ""
    style_attr = f' s="{style}"' if style else ""
    if not text:
        return f'<c r="{ref}"{style_attr}/>'
    return f'<c r="{ref}"{style_attr} t="inlineStr"><is><t{space}>{escaped}</t></is></c>'


def number_cell(ref: str, number: str, style: int) -> str:
    """A numeric cell; ``number`` is already the exact decimal text."""
    style_attr = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{style_attr}><v>{number}</v></c>'


def bool_cell(ref: str, value: bool, style: int) -> str:
    """A boolean cell."""
    style_attr = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{style_attr} t="b"><v>{int(value)}</v></c>'
