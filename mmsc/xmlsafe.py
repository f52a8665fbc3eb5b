"""Safe XML parsing for what mmsc reads from outside (SMIL, MM7 SOAP, UAProf): lxml with no
DTD loading, no entity expansion, no network access, no huge trees, a size limit, and any
document that declares entities refused outright (billion laughs, external entities)."""

from __future__ import annotations

import re

from lxml import etree

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


class XmlError(ValueError):
    """Not well-formed, too large, or unsafe."""


def parser(keep_everything: bool = False) -> etree.XMLParser:
    """The one parser configuration: comments and processing instructions dropped unless
    ``keep_everything`` (for rewriting a document in place)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False,
                           remove_comments=not keep_everything, remove_pis=not keep_everything)


def parse(raw: bytes, *, max_size: int, what: str = "XML",
          keep_everything: bool = False) -> etree._Element:
    """The root element of ``raw``, or XmlError."""
    if len(raw) > max_size:
        raise XmlError(f"{what} of {len(raw)} octets is over the {max_size} limit")
    if _ENTITY_DECL.search(raw):
        raise XmlError(f"{what} that declares entities is refused (entity expansion attacks)")
    try:
        root = etree.fromstring(raw.lstrip(b"\xef\xbb\xbf \t\r\n"), parser(keep_everything))
    except (etree.XMLSyntaxError, ValueError, LookupError) as exc:
        raise XmlError(f"{what} is not well-formed XML: {exc}") from None
    if root is None:
        raise XmlError(f"{what} is empty")
    dtd = root.getroottree().docinfo.internalDTD  # the byte check above misses UTF-16/32
    if dtd is not None and next(dtd.iterentities(), None) is not None:
        raise XmlError(f"{what} that declares entities is refused (entity expansion attacks)")
    return root


def local_name(element: etree._Element) -> str:
    """An element's name without namespace (handsets and VASPs disagree on namespaces)."""
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""  # "{namespace}name"
